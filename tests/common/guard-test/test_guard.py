#!/usr/bin/python3
"""The guard's own test: a test that dies leaves nothing behind.

A test-side process starts, under af-test-guard, what the integration tests
start — a real afd-server with a running sandbox (an af-fuse mount, an
af-exec with a command running inside bwrap) through the Python starter,
and an afd-server plus an af-fuse mount through the C starters
(af-test-daemon, the af-fuse fixture). It reports every pid and mount, and
this test SIGKILLs it — no teardown runs. Within a bounded wait every
guard must have exited, no mount under the test dirs may remain in
/proc/self/mountinfo, none of the pids may be alive, and the dirs must be
gone. A bystander process of ours that names the same dir but is no
descendant of a guard must survive (guards kill by ancestry, never by name).

argv: afd-server af-fuse af-exec guard-victim test_sandbox_grpcio.py
Exit 77 when root, /dev/fuse or bwrap is missing.
"""
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.environ.get("AF_TEST_COMMON_DIR")
                or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import af_test_guard  # noqa: E402

SERVER = FUSE = EXEC = VICTIM_C = SANDBOX_TEST = None
DEADLINE = 30.0  # seconds for every guard to finish after the kill


def start_time(pid):
    """The start time of @pid (field 22 of stat), None when gone or a
    zombie (an exited guard whose parent, the killed test, is gone waits
    for init to reap it): a pid reused by a new process does not count as
    the old one alive."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else fields[19]
    except (OSError, IndexError):
        return None


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def descendants(root):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                kids.setdefault(ppid(int(p)), []).append(int(p))
            except (OSError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def mounts_under(dirs):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if any(mp == d or mp.startswith(d + "/") for d in dirs):
                out.append(mp)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def victim_py():
    """The Python test-side process: a sandbox running a command."""
    spec = importlib.util.spec_from_file_location("sbtest", SANDBOX_TEST)
    t = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t)
    t.SERVER, t.FUSE, t.EXEC = SERVER, FUSE, EXEC
    d = t.Daemon()
    cb = d.cb.CreateCodebase(t.cb_pb.CreateCodebaseRequest(name="g", owner_id="test"))
    t.upload(d.cb, cb.id, "a", b"1")
    sb = d.sb.CreateSandbox(t.sb_pb.CreateSandboxRequest(
        codebase_id=cb.id, permissions=[t.rule("**", t.P.PERMISSION_WRITE)]))
    d.sb.StartSandbox(t.sb_pb.StartSandboxRequest(sandbox_id=sb.id))
    # A command running inside the sandbox while the test dies.
    call = d.sb.Exec.future(t.sb_pb.ExecRequest(sandbox_id=sb.id, command="sleep 4242"))
    end = time.monotonic() + 30
    while not t.procs_mentioning("sleep 4242") and time.monotonic() < end:
        time.sleep(0.02)
    guard = d.guard.proc.pid
    print(json.dumps({"dirs": [d.top], "guards": [guard],
                      "pids": [d.proc.pid] + descendants(guard),
                      "mounts": t.mounts_under(d.top),
                      "sleeping": [p for p, _ in t.procs_mentioning("sleep 4242")]}), flush=True)
    signal.pause()
    call.cancel()


class Guard(unittest.TestCase):
    def kill_and_check(self, argv, env=None):
        victim = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        try:
            r, _, _ = select.select([victim.stdout], [], [], 120)
            self.assertTrue(r, "the test-side process did not report")
            info = json.loads(victim.stdout.readline())
        except BaseException:
            victim.kill()
            victim.wait()
            raise
        dirs = info["dirs"]
        guards = info.get("guards") or sorted({ppid(p) for p in info["pids"]})
        pids = sorted(set(info["pids"] + guards +
                          [d for g in guards for d in descendants(g)]))
        starts = {p: start_time(p) for p in pids}
        self.assertTrue(all(starts.values()), "a process died before the kill")
        self.assertTrue(info["mounts"])
        self.assertEqual(sorted(mounts_under(dirs)), sorted(info["mounts"]))

        # Ours, naming the dir, but no descendant of a guard: must survive.
        bystander = subprocess.Popen(
            ["/usr/bin/python3", "-c", "import time; time.sleep(600)", dirs[0]])
        try:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            # Wait on each guard's exit (pidfd), bounded.
            end = time.monotonic() + DEADLINE
            for g in guards:
                try:
                    fd = os.pidfd_open(g)
                except ProcessLookupError:
                    continue
                try:
                    left = max(0.0, end - time.monotonic())
                    self.assertTrue(select.select([fd], [], [], left)[0],
                                    f"guard {g} still running after {DEADLINE}s")
                finally:
                    os.close(fd)
            self.assertEqual(mounts_under(dirs), [])
            alive = [(p, cmdline(p)) for p in pids if start_time(p) == starts[p]]
            self.assertEqual(alive, [])
            for d in dirs:
                self.assertFalse(os.path.lexists(d), f"{d} left behind")
            self.assertIsNone(bystander.poll(), "a process that is no guard's was killed")
            self.assertIn(dirs[0], cmdline(bystander.pid))
        finally:
            bystander.kill()
            bystander.wait()
        return info, pids

    def test_python_starter_sandbox(self):
        info, pids = self.kill_and_check(
            [sys.executable, __file__, "--victim-py", SERVER, FUSE, EXEC, SANDBOX_TEST])
        self.assertTrue(info["sleeping"], "no command was running in the sandbox")
        self.assertTrue(set(info["sleeping"]) <= set(pids))
        # The server, af-fuse, af-exec and what runs inside the sandbox.
        names = " ".join(cmdline(p) for p in pids)
        self.assertGreaterEqual(len(pids), 4, names)

    def test_c_starters(self):
        info, _ = self.kill_and_check([VICTIM_C, SERVER], env=dict(os.environ, AF_FUSE_BIN=FUSE))
        self.assertEqual(len(info["dirs"]), 2)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--victim-py":
        SERVER, FUSE, EXEC, SANDBOX_TEST = sys.argv[2:6]
        victim_py()
        sys.exit(0)
    SERVER, FUSE, EXEC, VICTIM_C, SANDBOX_TEST = sys.argv[1:6]
    reason = af_test_guard.sandbox_skip_reason()
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    res = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    sys.exit(0 if res.wasSuccessful() else 1)
