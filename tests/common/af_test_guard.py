"""af_test_guard — the Python tests' side of af-test-guard (see
tests/common/af-test-guard.c): start a guard for the test's own temp dir,
start daemons through it so they and everything they start are its
descendants, wait for them like subprocess.Popen, and close it — which kills
what is left, unmounts what is mounted under the dir and removes the dir.
The same happens however the test process dies, because only it holds the
other end of the guard's socket.

Owns: the guard processes it started and their sockets. Must never: signal
a process it did not start. The guard binary comes from $AF_TEST_GUARD
(set by meson for every test); without it a test fails, it does not run
unguarded.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

# Pids of the guards alive in this process: checks that look for our
# processes by command line leave them out (a guard names its dir).
GUARD_PIDS = set()


def sandbox_skip_reason(rootless_ok=False):
    """Why sandboxes (FUSE mounts, bwrap) cannot run here, or None. With
    @rootless_ok, a rootless server (AF_TEST_ROOTLESS=1) runs them unprivileged."""
    if os.geteuid() != 0 and not (rootless_ok and os.environ.get("AF_TEST_ROOTLESS") == "1"):
        return "needs root (FUSE mounts with allow_other, per-sandbox uids)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("bwrap") is None:
        return "no bwrap"
    return None


def wait_ready(proc, r, w, log_path):
    """Read the READY line a daemon started with --ready-fd writes on the
    pipe (@r, @w) and return it; when it exits without one, kill @proc and
    raise with its log (@log_path)."""
    os.close(w)
    with os.fdopen(r) as f:
        line = f.read()
    if not line.startswith("READY "):
        proc.kill()
        proc.wait()
        with open(log_path) as f:
            raise RuntimeError("afd-server did not start: " + f.read())
    return line


def binary():
    b = os.environ.get("AF_TEST_GUARD")
    if not b or not os.access(b, os.X_OK):
        raise RuntimeError("AF_TEST_GUARD does not name the built af-test-guard")
    return b


class Guard:
    def __init__(self, top, env=None):
        self.top = os.path.realpath(top)
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # stdout stays ours to write: the guard only ever writes to stderr.
        self.proc = subprocess.Popen(
            [binary(), f"--dir={self.top}", f"--control-fd={theirs.fileno()}"],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        theirs.close()
        GUARD_PIDS.add(self.proc.pid)
        self.exited = {}
        self.lock = threading.Lock()

    def _take(self, timeout=None):
        """One message; None when @timeout passed first."""
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
        msg = self.sock.recv(256)
        if not msg:
            raise RuntimeError(f"af-test-guard for {self.top} ended")
        msg = msg.decode()
        if msg.startswith("X "):
            _, pid, status = msg.split()
            self.exited[int(pid)] = int(status)
        return msg

    def spawn(self, argv, stdin=None, stdout=None, stderr=None, pass_fds=()):
        """Start @argv (argv[0] a path) as a child of the guard. File
        objects or fds for 0, 1, 2 (None: /dev/null), then @pass_fds as 3,
        4, …  Returns a Popen-like GuardedProcess."""
        with open(os.devnull, "r+b") as null:
            fds = []
            for f in (stdin, stdout, stderr, *pass_fds):
                if f is None:
                    fds.append(null.fileno())
                else:
                    fds.append(f if isinstance(f, int) else f.fileno())
            payload = b"S" + b"".join(os.fsencode(a) + b"\0" for a in argv)
            with self.lock:
                socket.send_fds(self.sock, [payload], fds)
                while True:
                    msg = self._take()
                    if msg.startswith("P "):
                        return GuardedProcess(self, int(msg.split()[1]))
                    if msg.startswith("E "):
                        err = int(msg.split()[1])
                        raise OSError(err, f"af-test-guard cannot start {argv[0]}")

    def wait_status(self, pid, timeout=None):
        """The wait status of @pid once reported; None if @timeout passed."""
        with self.lock:
            deadline = None if timeout is None else _now() + timeout
            while pid not in self.exited:
                left = None if deadline is None else max(0.0, deadline - _now())
                if self._take(left) is None and left is not None and left <= 0:
                    return None
            return self.exited.pop(pid)

    def close(self):
        """Close the socket; the guard kills what is left, unmounts, removes
        the dir and exits: 0 nothing was left, 1 it cleaned something up
        (named on stderr), 2 something could not be cleaned."""
        self.sock.close()
        rc = self.proc.wait()
        GUARD_PIDS.discard(self.proc.pid)
        return rc


def _now():
    return time.monotonic()


class GuardedProcess:
    """What the tests use of subprocess.Popen, for a child of the guard."""

    def __init__(self, guard, pid):
        self.guard = guard
        self.pid = pid
        self.returncode = None

    def _done(self, status):
        if status is not None and self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self):
        return self._done(self.guard.wait_status(self.pid, timeout=0)) \
            if self.returncode is None else self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            status = self.guard.wait_status(self.pid, timeout)
            if status is None:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            self._done(status)
        return self.returncode

    def send_signal(self, sig):
        # By pid, and only while the guard has not reported it gone (the
        # pid cannot have been reused before that: the guard reaps it).
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)
