#!/usr/bin/python3
"""StartSandbox builds the isolation while af-fuse mounts (a root server's
shared mount point): through python3-grpcio against a real afd-server with
real af-fuse mounts and real bwrap sandboxes.

What must hold: the first command after the start sees the codebase through
FUSE (never the empty directory beneath it), also when the mount arrives
well after bwrap was built (an af-fuse delayed by a wrapper); every way a
sandbox ends — stop, a helper killed, a failed start, a killed server —
leaves neither the FUSE mount nor the shared bind in /proc/mounts; a
stopped sandbox starts again. The debug log says which path a start took.

argv: afd-server af-fuse af-exec. Exit 77 (skip) without root, /dev/fuse
or bwrap (a rootless server takes the sequential path, which the sandbox
suite covers).
"""
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox_grpcio as t  # noqa: E402  (the sandbox suite's daemon and helpers)

sb_pb, cb_pb, P, C = t.sb_pb, t.cb_pb, t.P, t.C
RULES = [t.rule("**", P.PERMISSION_READ), t.rule("/out/**", P.PERMISSION_WRITE, 10)]
TREE = {"README.md": b"hello readme\n", "src/main.c": b"int x;\n", "out/keep": b""}
STARTED = re.compile(r"(sb_\w+).*started \(([^)]*)\): mount ready after ([\d.]+) ms, af-exec "
                     r"connected after ([\d.]+) ms and ready after ([\d.]+) ms")
# What one command prints about /workspace: the file system type, a file of
# the codebase, the listing, and the type of its mount in the sandbox.
PROBE = ("stat -f -c %T /workspace; cat /workspace/README.md; ls /workspace; "
         "awk '$5 == \"/workspace\" { print \"mount:\", $0 }' /proc/self/mountinfo")


def mount_entries(path):
    """mountinfo lines whose mount point is @path, bottom first."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4].encode().decode("unicode_escape") == path:
                out.append(line)
    return out


class Overlap(unittest.TestCase):
    """One server whose af-fuse is delayed by DELAY_S (a wrapper script),
    so every start builds bwrap before the mount exists, and one with the
    real af-fuse."""

    DELAY_S = 0.5

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="afd-ov-")
        os.chmod(cls.tmp, 0o755)
        cls.slow_fuse = os.path.join(cls.tmp, "af-fuse")
        with open(cls.slow_fuse, "w") as f:
            f.write(f"#!/bin/sh\nsleep {cls.DELAY_S}\nexec {t.FUSE} \"$@\"\n")
        os.chmod(cls.slow_fuse, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH
                 | stat.S_IXOTH)
        cls.daemon = t.Daemon(extra=("--log-level=debug",))

    @classmethod
    def tearDownClass(cls):
        d = cls.daemon
        d.stop()
        left_m = t.wait_gone(lambda: t.mounts_under(d.top))
        left_p = t.wait_gone(lambda: t.procs_mentioning(d.top))
        d.close()
        os.unlink(cls.slow_fuse)
        os.rmdir(cls.tmp)
        assert not left_m, f"mounts left behind: {left_m}"
        assert not left_p, f"processes left behind: {left_p}"

    def setUp(self):
        self.s, self.c = self.daemon.sb, self.daemon.cb
        self.mounts = os.path.join(self.daemon.state, "mounts")
        # Cleanups run last-in first-out: this one after every destroy.
        self.addCleanup(self.check_nothing_mounted)

    def check_nothing_mounted(self):
        self.assertFalse(t.wait_gone(lambda: t.mounts_under(self.mounts)),
                         "a mount outlived its sandbox")

    def codebase(self):
        cb = self.c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="ov", owner_id="test"))
        for path, data in TREE.items():
            t.upload(self.c, cb.id, path, data)
        return cb.id

    def create(self, cb_id):
        sb = self.s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb_id, permissions=RULES))
        self.addCleanup(self.destroy_quietly, sb.id)
        return sb.id

    def destroy_quietly(self, sb_id):
        try:
            self.s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb_id))
        except t.grpc.RpcError as e:
            if e.code() != C.NOT_FOUND:
                raise

    def start(self, sb_id):
        got = self.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb_id))
        self.assertEqual(got.status, t.RUNNING, self.daemon.dump_logs())
        return got

    def last_start(self, sb_id):
        """(path, mount ready ms, af-exec ready ms) of @sb_id's last start."""
        found = [m for m in STARTED.finditer(self.daemon.read_log()) if m.group(1) == sb_id]
        self.assertTrue(found, f"no start line for {sb_id} in the debug log")
        m = found[-1]
        return m.group(2), float(m.group(3)), float(m.group(5))

    def assert_sees_codebase(self, sb_id):
        r = self.s.Exec(sb_pb.ExecRequest(sandbox_id=sb_id, command=PROBE))
        self.assertEqual(r.exit_code, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "fuseblk", r.stdout)  # FUSE_SUPER_MAGIC as stat names it
        self.assertEqual(lines[1], "hello readme")
        self.assertEqual(sorted(lines[2:5]), ["README.md", "out", "src"])
        # The sandbox's /workspace: af-fuse's mount, a slave of the host's;
        # over bwrap's bind of the mount point when it came after bwrap.
        mnt = [ln for ln in lines if ln.startswith("mount:")]
        self.assertIn(len(mnt), (1, 2), r.stdout)
        self.assertIn("fuse.agentfense", mnt[-1])
        self.assertIn("master:", mnt[-1])
        # Levels as before: written where write, refused where read.
        r = self.s.Exec(sb_pb.ExecRequest(
            sandbox_id=sb_id, command="echo w > /workspace/out/w && cat /workspace/out/w; "
                                      "echo x > /workspace/src/x"))
        self.assertEqual(r.stdout, "w\n")
        self.assertNotEqual(r.exit_code, 0)
        self.assertIn("Permission denied", r.stderr)

    def host_mounts(self, sb_id):
        return mount_entries(os.path.join(self.mounts, sb_id))

    def test_mount_arrives_after_the_isolation(self):
        """bwrap is built before af-fuse even starts (the wrapper sleeps):
        the mount reaches the running sandbox, the first command sees it,
        and stop/start again works the same way."""
        d = self.daemon
        cb_id = self.codebase()
        d.stop()
        d.extra = ("--log-level=debug", f"--fuse-helper={self.slow_fuse}")
        d.start()
        self.s, self.c = d.sb, d.cb
        try:
            sb_id = self.create(cb_id)
            for round_ in range(2):
                self.start(sb_id)
                path, fuse_ms, exec_ms = self.last_start(sb_id)
                self.assertIn("alongside the mount", path)
                self.assertGreater(fuse_ms, self.DELAY_S * 1000)
                self.assertLess(exec_ms, fuse_ms, "af-exec waited for the mount")
                r = self.s.Exec(sb_pb.ExecRequest(sandbox_id=sb_id, command=PROBE))
                self.assertEqual(len([ln for ln in r.stdout.splitlines()
                                      if ln.startswith("mount:")]), 2, r.stdout)
                # Host side: the shared bind, and af-fuse's mount on top.
                ents = self.host_mounts(sb_id)
                self.assertEqual(len(ents), 2, ents)
                self.assertIn("shared:", ents[0].split(" - ")[0])
                self.assertIn("fuse.agentfense", ents[1])
                self.assert_sees_codebase(sb_id)
                got = self.s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=sb_id))
                self.assertEqual(got.status, t.STOPPED)
                self.assertEqual(self.host_mounts(sb_id), [], f"round {round_}")
        finally:
            d.stop()
            d.extra = ("--log-level=debug",)
            d.start()
            self.s, self.c = d.sb, d.cb

    def test_first_command_sees_the_codebase(self):
        """A command right after each start sees FUSE, three times over."""
        cb_id = self.codebase()
        for _ in range(3):
            sb_id = self.create(cb_id)
            self.start(sb_id)
            self.assertIn("alongside the mount", self.last_start(sb_id)[0])
            self.assert_sees_codebase(sb_id)
            self.s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb_id))
            self.assertEqual(self.host_mounts(sb_id), [])

    def kill_helper(self, sb_id, name, sig=signal.SIGKILL):
        mine = [p for p, cmd in t.procs_mentioning(sb_id)
                if os.path.basename(cmd.split()[0]) == name]
        self.assertEqual(len(mine), 1, t.procs_mentioning(sb_id))
        os.kill(mine[0], sig)

    def wait_error(self, sb_id):
        end = time.monotonic() + 15
        while time.monotonic() < end:
            got = self.s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=sb_id))
            if got.status == t.ERROR:
                return got
            time.sleep(0.05)
        self.fail(f"{sb_id} never went to ERROR")

    def test_killed_helpers_leave_no_mount(self):
        """af-fuse SIGKILLed (its mount is left dead over the bind), then
        af-exec SIGKILLed: ERROR each time, both mounts gone, and the
        sandbox starts again."""
        cb_id = self.codebase()
        sb_id = self.create(cb_id)
        for helper in ("af-fuse", "af-exec"):
            with self.subTest(helper=helper):
                self.start(sb_id)
                self.assertEqual(len(self.host_mounts(sb_id)), 2)
                self.kill_helper(sb_id, helper)
                got = self.wait_error(sb_id)
                self.assertIn(helper, got.error)
                self.assertFalse(t.wait_gone(lambda: self.host_mounts(sb_id)))
                self.assertFalse(t.wait_gone(lambda: t.procs_mentioning(sb_id)))
        self.start(sb_id)
        self.assert_sees_codebase(sb_id)

    def test_leftover_mount_is_cleared(self):
        """Something already mounted at the mount point (a tmpfs with a
        file of its own): the start takes it away first, so the sandbox
        sees the codebase, never the leftover."""
        cb_id = self.codebase()
        sb_id = self.create(cb_id)
        mnt = os.path.join(self.mounts, sb_id)
        os.makedirs(mnt, mode=0o755, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "leftover", mnt], check=True)
        try:
            with open(os.path.join(mnt, "stale"), "w") as f:
                f.write("old\n")
            self.start(sb_id)
            self.assert_sees_codebase(sb_id)
            self.assertEqual(len(self.host_mounts(sb_id)), 2)
            self.assertFalse([e for e in self.host_mounts(sb_id) if "leftover" in e])
        finally:
            if [e for e in self.host_mounts(sb_id) if "leftover" in e]:
                subprocess.run(["umount", "-l", mnt])

    def test_failed_start_leaves_no_bind(self):
        """af-fuse cannot mount (its source is gone): the start fails, and
        the bind made for it is gone too."""
        cb_id = self.codebase()
        sb_id = self.create(cb_id)
        src = os.path.join(self.daemon.state, "codebases", cb_id)
        os.rename(src, src + ".away")
        try:
            with self.assertRaises(t.grpc.RpcError) as cm:
                self.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb_id))
            self.assertEqual(cm.exception.code(), C.INTERNAL)
        finally:
            os.rename(src + ".away", src)
        self.assertEqual(self.host_mounts(sb_id), [])
        self.assertFalse(t.wait_gone(lambda: t.procs_mentioning(sb_id)))
        self.start(sb_id)
        self.assert_sees_codebase(sb_id)


class Recover(unittest.TestCase):
    def test_kill9_with_dead_fuse_leaves_no_bind(self):
        """kill -9 of the server, then of one sandbox's af-fuse (a dead
        FUSE mount over the bind, nobody to unmount either), then a restart:
        recovery unmounts both; the sandboxes start again and see files."""
        d = t.Daemon()
        try:
            s, c = d.sb, d.cb
            cb = c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="r"))
            t.upload(c, cb.id, "a", b"1")
            ids = []
            for _ in range(2):
                sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(
                    codebase_id=cb.id, permissions=[t.rule("**", P.PERMISSION_READ)]))
                s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
                ids.append(sb.id)
            self.assertEqual(len(t.mounts_under(d.top)), 4)  # a bind and a FUSE mount each
            d.kill9()
            fuse = [p for p, cmd in t.procs_mentioning(ids[0])
                    if os.path.basename(cmd.split()[0]) == "af-fuse"]
            self.assertEqual(len(fuse), 1)
            os.kill(fuse[0], signal.SIGKILL)
            d.start()
            self.assertFalse(t.mounts_under(d.top))
            for i in ids:
                self.assertEqual(d.sb.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=i)).status,
                                 t.STOPPED)
                d.sb.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=i))
                r = d.sb.Exec(sb_pb.ExecRequest(sandbox_id=i, command="cat /workspace/a"))
                self.assertEqual(r.stdout, "1")
        finally:
            d.stop()
            left_m = t.wait_gone(lambda: t.mounts_under(d.top))
            left_p = t.wait_gone(lambda: t.procs_mentioning(d.top))
            d.close()
        self.assertFalse(left_m)
        self.assertFalse(left_p)


if __name__ == "__main__":
    t.SERVER, t.FUSE, t.EXEC = sys.argv[1:4]
    reason = t.skip_reason()
    if reason is None and os.geteuid() != 0:
        reason = "the shared mount point needs a root server (rootless takes the sequential path)"
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    names = sys.argv[4:]
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names, sys.modules[__name__])
    else:
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(k) for k in (Overlap, Recover))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)
