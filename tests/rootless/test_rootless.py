#!/usr/bin/python3
"""The rootless suite: AgentFense as an ordinary user.

Run as root by `meson test --suite rootless`. Creates a throwaway user
(random name, home in a temp dir), copies the built binaries and the
generated Python stubs where that user can read them, and runs as that user
(runuser, clean environment, no XDG_RUNTIME_DIR — as under runuser):

  fuse      af-fuse alone: the four levels, whiteouts and opaque directories
            without root (user.* marks the view never shows), a delta
            mounted again after a SIGKILL, clean unmount
  exec      af-exec one-shot: identity, capabilities, seccomp, a timeout
            killing the whole tree, limits refused when no cgroup enforces
            them
  server    a rootless afd-server over grpcio: upload, create, start, exec
            at the four levels, write + download, stop, destroy; default
            state and socket directories; unenforceable limits refused
  tree      without cgroups, processes that leave the command's session
            (setsid, double forks) still die with the command: timeout,
            main process exit, cancelled stream, session timeout and
            destroy, a command that kills its reaper
  grpcio    tests/afd-server/test_sandbox_grpcio.py (every integration
            test of the bwrap runtime) against servers run by that user

AF_TEST_ROOTLESS_PHASES (space-separated) runs only the phases named.

Whatever happens, the user's processes are killed (by pid), mounts under
the temp dir removed, a /dev/fuse ACL granted to the user taken back, the
user deleted (userdel -r) and the temp dir removed. Exit 77 with a reason
when a facility is missing.

argv: afd-server af-fuse af-exec af-exec-init test_sandbox_grpcio.py proto-python-dir
"""
import os
import pwd
import secrets
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
ACL_XATTR = "system.posix_acl_access"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def log(msg):
    print(f"# {msg}", flush=True)


class Throwaway:
    """A user that exists for one run, and everything it needs."""

    def __init__(self):
        # Short paths: the server's sockets live below the user's state dir
        # and a unix socket path holds 107 bytes.
        self.top = tempfile.mkdtemp(prefix="afrl-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.name = "afrl" + secrets.token_hex(4)
        self.home = os.path.join(self.top, "h")
        self.created = False
        self.acl_granted = False
        self.fuse_mode = None
        subprocess.run(["useradd", "--no-create-home", "--home-dir", self.home,
                        "--shell", "/bin/sh", "--user-group", self.name], check=True)
        self.created = True
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.mkdir(self.home, 0o700)
        os.chown(self.home, self.uid, self.gid)

    def run(self, argv, env=None, timeout=600, check=False):
        e = {"HOME": self.home, "PATH": SAFE_PATH, "LANG": "C.UTF-8",
             "XDG_STATE_HOME": os.path.join(self.home, ".local", "state")}
        e.update(env or {})
        full = ["runuser", "-u", self.name, "--", "env", "-i"]
        full += [f"{k}={v}" for k, v in e.items()] + list(argv)
        return subprocess.run(full, cwd=self.home, timeout=timeout, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def can(self, *argv):
        return self.run(list(argv), timeout=60).returncode == 0

    def grant_fuse(self):
        """/dev/fuse is 0666 on a stock Debian (udev); some hosts make it
        0600. Give this user alone read-write through an ACL, as logind's
        uaccess does, and take it back at the end."""
        if self.can("test", "-r", "/dev/fuse", "-a", "-w", "/dev/fuse"):
            return True
        st = os.stat("/dev/fuse")
        try:
            if os.listxattr("/dev/fuse"):
                return False  # an ACL we did not write: leave it alone
        except OSError:
            return False
        perm = lambda shift: (st.st_mode >> shift) & 7
        entries = [(0x01, perm(6), 0xFFFFFFFF), (0x02, 6, self.uid),
                   (0x04, perm(3), 0xFFFFFFFF), (0x10, 6 | perm(3), 0xFFFFFFFF),
                   (0x20, perm(0), 0xFFFFFFFF)]
        blob = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in entries)
        try:
            self.fuse_mode = stat.S_IMODE(st.st_mode)
            os.setxattr("/dev/fuse", ACL_XATTR, blob)
            self.acl_granted = True
        except OSError:
            return False
        return self.can("test", "-r", "/dev/fuse", "-a", "-w", "/dev/fuse")

    def pids(self):
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.stat(f"/proc/{p}").st_uid == self.uid:
                        out.append(int(p))
                except OSError:
                    pass
        return out

    def mounts(self):
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].encode().decode("unicode_escape")
                if mp.startswith(self.top):
                    out.append(mp)
        return out

    def cleanup(self):
        left = []
        if self.created:
            for _ in range(50):
                pids = self.pids()
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.05)
            left += [f"process {p}" for p in self.pids()]
        for mp in sorted(self.mounts(), reverse=True):
            left.append(f"mount {mp}")
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        if self.acl_granted:
            os.removexattr("/dev/fuse", ACL_XATTR)
            os.chmod("/dev/fuse", self.fuse_mode)
        if self.created:
            subprocess.run(["userdel", "-r", self.name], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.top, ignore_errors=True)
        return left


def main():
    if os.geteuid() != 0:
        skip("creates a throwaway user: run as root")
    for tool in ("useradd", "userdel", "runuser", "bwrap", "fusermount3"):
        if shutil.which(tool) is None:
            skip(f"no {tool}")
    if not os.path.exists("/dev/fuse"):
        skip("no /dev/fuse")
    server, fuse, exe, init, grpcio_test, proto = sys.argv[1:7]
    here = os.path.dirname(os.path.abspath(__file__))

    u = Throwaway()
    failed = []
    try:
        if not u.can("bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/",
                     "true"):
            skip("unprivileged user namespaces are not available to an ordinary user "
                 "(user.max_user_namespaces, or a distribution switch such as "
                 "kernel.unprivileged_userns_clone)")
        if not u.grant_fuse():
            skip("an ordinary user cannot open /dev/fuse here and no ACL could grant it")
        # Everything the user runs is copied beside each other (af-exec finds
        # its init next to itself); the build tree need not be traversable.
        bindir = os.path.join(u.top, "bin")
        os.mkdir(bindir, 0o755)
        # The guard the grpcio phase runs its servers under, and its module.
        guard = os.environ["AF_TEST_GUARD"]
        for src in (server, fuse, exe, init, guard):
            shutil.copy2(src, bindir)
        shutil.copytree(proto, os.path.join(u.top, "proto"))
        for f in (os.path.join(here, "rootless_user.py"), grpcio_test,
                  os.path.join(here, "..", "common", "af_test_guard.py")):
            shutil.copy2(f, u.top)
        for root, dirs, files in os.walk(u.top):
            if root.startswith(u.home):
                continue
            for n in dirs + files:
                p = os.path.join(root, n)
                os.chmod(p, os.stat(p).st_mode | 0o444 | (0o111 if os.path.isdir(p) else 0))

        user_py = os.path.join(u.top, "rootless_user.py")
        env = {"AF_PROTO_PYTHON_DIR": os.path.join(u.top, "proto"), "TMPDIR": u.home}
        only = os.environ.get("AF_TEST_ROOTLESS_PHASES", "").split()
        for phase in ("fuse", "exec", "server", "tree"):
            if only and phase not in only:
                continue
            log(f"phase {phase} as {u.name} (uid {u.uid})")
            r = u.run(["/usr/bin/python3", user_py, phase, bindir], env=env)
            print(r.stdout, end="")
            if r.returncode != 0:
                failed.append(phase)
        if not only or "grpcio" in only:
            log("phase grpcio: tests/afd-server/test_sandbox_grpcio.py against rootless servers")
            r = u.run(["/usr/bin/python3", os.path.join(u.top, os.path.basename(grpcio_test)),
                       os.path.join(bindir, "afd-server"), os.path.join(bindir, "af-fuse"),
                       os.path.join(bindir, "af-exec"), "integration"],
                      env=dict(env, AF_TEST_ROOTLESS="1",
                               AF_TEST_GUARD=os.path.join(bindir, os.path.basename(guard))),
                      timeout=900)
            print(r.stdout, end="")
            if r.returncode != 0:
                failed.append("grpcio")
    finally:
        left = u.cleanup()
    if left:
        print(f"FAIL: left behind: {left}")
        sys.exit(1)
    if failed:
        print(f"FAIL: phases {failed}")
        sys.exit(1)
    print("PASS: every phase as an unprivileged user; nothing left behind")


if __name__ == "__main__":
    main()
