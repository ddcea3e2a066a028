#!/usr/bin/python3
"""The checks of the rootless suite, run as the throwaway user by
test_rootless.py: `rootless_user.py PHASE BINDIR` with PHASE fuse, exec or
server. Exit 0 when every check of the phase held."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4].encode().decode("unicode_escape") == path for line in f)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while not pred() and time.monotonic() < end:
        time.sleep(0.02)
    return pred()


class Fuse(unittest.TestCase):
    RULES = {"rules": [
        {"pattern": "**", "permission": "read"},
        {"pattern": "/secret", "type": "directory", "permission": "none", "priority": 10},
        {"pattern": "/config.env", "type": "file", "permission": "view", "priority": 10},
        {"pattern": "/out", "type": "directory", "permission": "write", "priority": 10},
        {"pattern": "/out/**", "permission": "write", "priority": 10},
    ]}

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="fuse-", dir=os.environ.get("TMPDIR"))
        self.src, self.mnt, self.delta = (os.path.join(self.top, n)
                                          for n in ("src", "mnt", "delta"))
        for d in (self.src, self.mnt, os.path.join(self.src, "secret"),
                  os.path.join(self.src, "out", "sub")):
            os.makedirs(d)
        for path, data in {"README.md": "readme\n", "config.env": "PASSWORD=x\n",
                           "secret/key": "k\n", "out/old": "old\n", "out/stay": "s\n",
                           "out/sub/f": "f\n"}.items():
            with open(os.path.join(self.src, path), "w") as f:
                f.write(data)
        self.rules = os.path.join(self.top, "rules.json")
        with open(self.rules, "w") as f:
            json.dump(self.RULES, f)
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.assertTrue(wait_for(lambda: not mounted(self.mnt)), "mount left behind")
        subprocess.run(["rm", "-rf", self.top])

    def mount(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "af-fuse"), f"--source={self.src}", f"--mountpoint={self.mnt}",
             f"--rules={self.rules}", f"--delta={self.delta}", "--foreground",
             f"--ready-fd={w}"], pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            self.assertTrue(f.read().startswith("ready"), "af-fuse did not mount")
        self.assertTrue(mounted(self.mnt))

    def p(self, *parts):
        return os.path.join(self.mnt, *parts)

    def test_levels_marks_and_remount(self):
        self.mount()
        # Mounted by fusermount3 for this user, without allow_other.
        with open("/proc/self/mountinfo") as f:
            line = next(l for l in f if l.split()[4] == self.mnt)
        self.assertIn(f"user_id={os.getuid()}", line)
        self.assertNotIn("allow_other", line)
        # none / view / read / write
        self.assertNotIn("secret", os.listdir(self.mnt))
        self.assertRaises(FileNotFoundError, os.stat, self.p("secret", "key"))
        self.assertEqual(os.stat(self.p("config.env")).st_size, 11)
        self.assertRaises(PermissionError, open, self.p("config.env"))
        with open(self.p("README.md")) as f:
            self.assertEqual(f.read(), "readme\n")
        self.assertRaises(PermissionError, open, self.p("README.md"), "w")
        with open(self.p("out", "new"), "w") as f:
            f.write("new\n")
        # A whiteout (char 0:0, unprivileged since Linux 5.8) for a deleted
        # source file; an opaque directory replacing a deleted one.
        os.unlink(self.p("out", "old"))
        upper = os.path.join(self.delta, "upper")
        st = os.lstat(os.path.join(upper, "out", "old"))
        self.assertTrue(os.major(st.st_rdev) == 0 and os.minor(st.st_rdev) == 0)
        os.unlink(self.p("out", "sub", "f"))
        os.rmdir(self.p("out", "sub"))
        os.mkdir(self.p("out", "sub"))
        self.assertEqual(os.listdir(self.p("out", "sub")), [])
        marks = os.listxattr(os.path.join(upper, "out", "sub"))
        self.assertIn("user.agentfense.opaque", marks)
        # The view never shows a mark, and its own user.agentfense.* names
        # are stored escaped: nothing the sandbox sets can forge a mark.
        self.assertEqual(os.listxattr(self.p("out", "sub")), [])
        os.setxattr(self.p("out", "sub"), "user.agentfense.opaque", b"mine")
        os.setxattr(self.p("out", "new"), "user.note", b"n")
        self.assertEqual(sorted(os.listxattr(self.p("out", "sub"))),
                         ["user.agentfense.opaque"])
        self.assertEqual(os.getxattr(self.p("out", "sub"), "user.agentfense.opaque"), b"mine")
        self.assertIn("user.agentfense.x.opaque",
                      os.listxattr(os.path.join(upper, "out", "sub")))
        self.assertEqual(os.listxattr(self.p("out", "new")), ["user.note"])
        # The name of a mark set through the view does not make a directory
        # opaque: the source entries beneath stay visible.
        os.setxattr(self.p("out"), "user.agentfense.opaque", b"y")
        self.assertIn("stay", os.listdir(self.p("out")))

        # SIGKILL leaves a dead mount, as with any FUSE daemon; its user
        # takes it away with fusermount3 (afd-server does this itself).
        self.proc.kill()
        self.proc.wait()
        with self.assertRaises(OSError) as cm:
            os.listdir(self.mnt)
        self.assertEqual(cm.exception.errno, 107)  # ENOTCONN
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], check=True)
        self.assertFalse(mounted(self.mnt))
        # The delta mounted again reads the same (its scheme is recorded).
        self.assertTrue(os.path.exists(os.path.join(self.delta, "user-xattrs")))
        self.mount()
        self.assertEqual(sorted(os.listdir(self.p("out"))), ["new", "stay", "sub"])
        self.assertEqual(os.listdir(self.p("out", "sub")), [])
        self.assertNotIn("secret", os.listdir(self.mnt))
        # A clean stop unmounts.
        self.proc.terminate()
        self.assertEqual(self.proc.wait(10), 0)
        self.assertFalse(mounted(self.mnt))

    def test_daemonized_relative_mountpoint(self):
        # A daemonized af-fuse has chdir'd to /: its unmount still finds
        # the mount given as a relative path.
        sb_id = "sb_" + os.urandom(16).hex()
        r = subprocess.run([os.path.join(BIN, "af-fuse"), "--source=src", "--mountpoint=mnt",
                            "--rules=rules.json", "--delta=delta", f"--sandbox-id={sb_id}"],
                           cwd=self.top, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(mounted(self.mnt))
        pids = [int(p) for p in os.listdir("/proc")
                if p.isdigit() and sb_id.encode() in cmdline(p)]
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGTERM)
        self.assertTrue(wait_for(lambda: not mounted(self.mnt)), "not unmounted")
        self.assertTrue(wait_for(lambda: sb_id.encode() not in cmdline(pids[0])))

    def test_root_delta_refused(self):
        # A non-empty upper without the scheme record was written as root
        # (trusted.* marks, unreadable here): refused, not misread.
        os.makedirs(os.path.join(self.delta, "upper", "out"))
        r = subprocess.run(
            [os.path.join(BIN, "af-fuse"), f"--source={self.src}", f"--mountpoint={self.mnt}",
             f"--rules={self.rules}", f"--delta={self.delta}", "--foreground"],
            stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only root can mount it", r.stderr)
        self.assertFalse(mounted(self.mnt))


def exec_limits():
    out = subprocess.run([os.path.join(BIN, "af-exec"), "--version"], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return next(l for l in out.splitlines() if l.startswith("limits: "))[8:].split()


class Exec(unittest.TestCase):
    def setUp(self):
        self.ws = tempfile.mkdtemp(prefix="ws-", dir=os.environ.get("TMPDIR"))
        with open(os.path.join(self.ws, "a"), "w") as f:
            f.write("hello\n")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.ws])

    def af_exec(self, *argv, timeout=60):
        return subprocess.run([os.path.join(BIN, "af-exec"), f"--workspace={self.ws}", *argv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def test_identity_and_isolation(self):
        r = self.af_exec("--", "/bin/sh", "-c",
                         "id -u; cat /workspace/a; grep -E '^(CapEff|NoNewPrivs|Seccomp):' "
                         "/proc/self/status; echo w > /workspace/b")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.split("\n")
        self.assertEqual(lines[0], "1000")
        self.assertEqual(lines[1], "hello")
        self.assertIn("CapEff:\t0000000000000000", r.stdout)
        self.assertIn("NoNewPrivs:\t1", r.stdout)
        self.assertIn("Seccomp:\t2", r.stdout)
        # Files written inside belong to the user on the host.
        self.assertEqual(os.stat(os.path.join(self.ws, "b")).st_uid, os.getuid())
        # The mount family is refused by the filter, not by missing privilege.
        r = self.af_exec("--", "/bin/sh", "-c", "unshare -U true")
        self.assertNotEqual(r.returncode, 0)

    def test_timeout_kills_tree(self):
        tag = f"{os.getpid()}"
        t0 = time.monotonic()
        r = self.af_exec("--timeout=1s", "--", "/bin/sh", "-c",
                         f"sleep 300{tag} & sleep 301{tag}; echo never")
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertNotIn("never", r.stdout)

        def left():
            out = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE, text=True).stdout
            return [l for l in out.splitlines() if f"{tag}" in l and l.startswith("sleep")]
        self.assertTrue(wait_for(lambda: not left()), left())

    def test_limits_not_pretended(self):
        limits = exec_limits()
        r = self.af_exec("--memory=67108864", "--", "/bin/true")
        if "memory" in limits:
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assertEqual(r.returncode, 125)
            self.assertIn("cgroup", r.stderr)


class Server(unittest.TestCase):
    def test_flow(self):
        import grpc
        sys.path.insert(0, os.environ["AF_PROTO_PYTHON_DIR"])
        import codebase_pb2 as cb_pb
        import codebase_pb2_grpc as cb_grpc
        import common_pb2 as P
        import sandbox_pb2 as sb_pb
        import sandbox_pb2_grpc as sb_grpc

        # Defaults of an unprivileged server with no XDG_RUNTIME_DIR (as
        # under runuser): state in $XDG_STATE_HOME/agentfense, the socket in
        # the state dir's run/.
        self.assertNotIn("XDG_RUNTIME_DIR", os.environ)
        state = os.path.join(os.environ["XDG_STATE_HOME"], "agentfense")
        sock = os.path.join(state, "run", "afd.sock")
        r, w = os.pipe()
        log = open(os.path.join(os.environ["TMPDIR"], "server.log"), "w+")
        proc = subprocess.Popen([os.path.join(BIN, "afd-server"), "--listen=none",
                                 f"--ready-fd={w}"], pass_fds=(w,), stderr=log)
        os.close(w)
        try:
            with os.fdopen(r) as f:
                ready = f.read()
            self.assertTrue(ready.startswith("READY "), ready)
            self.assertIn(f"socket={sock}", ready)
            ch = grpc.insecure_channel(f"unix:{sock}")
            cb, sb = cb_grpc.CodebaseServiceStub(ch), sb_grpc.SandboxServiceStub(ch)

            c = cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="r", owner_id="u"))
            for path, data in {"README.md": b"hello\n", "secret/k": b"TOP\n",
                               "config.env": b"PW=1\n", "out/keep": b""}.items():
                def chunks(path=path, data=data):
                    yield cb_pb.UploadChunk(metadata=cb_pb.UploadChunk.Metadata(
                        codebase_id=c.id, file_path=path, total_size=len(data)))
                    if data:
                        yield cb_pb.UploadChunk(data=data)
                cb.UploadFiles(chunks())
            self.assertTrue(os.path.isdir(os.path.join(state, "codebases", c.id)))

            def rule(pattern, perm, prio=0, kind=P.PATTERN_TYPE_GLOB):
                return P.PermissionRule(pattern=pattern, type=kind, permission=perm,
                                        priority=prio)
            rules = [rule("**", P.PERMISSION_READ),
                     rule("/secret", P.PERMISSION_NONE, 10, P.PATTERN_TYPE_DIRECTORY),
                     rule("/config.env", P.PERMISSION_VIEW, 10, P.PATTERN_TYPE_FILE),
                     rule("/out", P.PERMISSION_WRITE, 10, P.PATTERN_TYPE_DIRECTORY),
                     rule("/out/**", P.PERMISSION_WRITE, 10)]

            # A limit nothing here can enforce is refused, not ignored.
            limits = exec_limits()
            if "memory" not in limits:
                with self.assertRaises(grpc.RpcError) as cm:
                    sb.CreateSandbox(sb_pb.CreateSandboxRequest(
                        codebase_id=c.id, permissions=rules,
                        resources=P.ResourceLimits(memory_bytes=64 << 20)))
                self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
                self.assertIn("memory_bytes", cm.exception.details())

            s = sb.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=c.id, permissions=rules))
            s = sb.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=s.id))
            self.assertEqual(s.status, P.SANDBOX_STATUS_RUNNING)

            def ex(cmd):
                return sb.Exec(sb_pb.ExecRequest(sandbox_id=s.id, command=cmd))
            self.assertNotIn("secret", ex("ls /workspace").stdout.split())
            self.assertIn("No such file", ex("cat /workspace/secret/k").stderr)
            r1 = ex("stat -c %s /workspace/config.env; cat /workspace/config.env")
            self.assertEqual(r1.stdout.split()[0], "5")
            self.assertIn("ermission denied", r1.stderr)
            self.assertEqual(ex("cat /workspace/README.md").stdout, "hello\n")
            self.assertIn("ermission denied", ex("echo x > /workspace/README.md").stderr)
            self.assertEqual(ex("id -u; echo made > /workspace/out/n.txt").stdout, "1000\n")
            data = b"".join(x.data for x in cb.DownloadFile(
                cb_pb.DownloadFileRequest(codebase_id=c.id, file_path="out/n.txt")))
            self.assertEqual(data, b"made\n")

            mnt = os.path.join(state, "mounts", s.id)
            self.assertTrue(mounted(mnt))
            s = sb.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=s.id))
            self.assertEqual(s.status, P.SANDBOX_STATUS_STOPPED)
            self.assertFalse(mounted(mnt))
            sb.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=s.id))
            ch.close()
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(60), 0)
            log.seek(0)
            text = log.read()
            log.close()
        self.assertIn("sandbox resource limits enforceable (bwrap runtime): ", text)


def marked(marker):
    """Pids of this user's processes whose argv holds @marker (unique to
    the run: a number no other process uses)."""
    needle = marker.encode() + b"\0"
    out = []
    for p in os.listdir("/proc"):
        try:
            mine = p.isdigit() and os.stat(f"/proc/{p}").st_uid == os.getuid()
        except OSError:
            continue  # gone meanwhile
        if mine and needle in cmdline(p):
            out.append(int(p))
    return out


class Tree(unittest.TestCase):
    """Without cgroups a command's tree is the descendants of its reaper:
    processes that make their own session (setsid, a double fork with
    setsid) die with the command — on a timeout, when the main process
    exits, on cancellation, with their session — while the sandbox goes on.
    Each marker is a sleep duration unique to this run."""

    @classmethod
    def setUpClass(cls):
        import grpc
        sys.path.insert(0, os.environ["AF_PROTO_PYTHON_DIR"])
        import codebase_pb2 as cb_pb
        import codebase_pb2_grpc as cb_grpc
        import common_pb2 as P
        import sandbox_pb2 as sb_pb
        import sandbox_pb2_grpc as sb_grpc
        cls.grpc, cls.sb_pb, cls.P = grpc, sb_pb, P
        cls.state = tempfile.mkdtemp(prefix="st-", dir=os.environ.get("TMPDIR"))
        sock = os.path.join(cls.state, "afd.sock")
        r, w = os.pipe()
        cls.log = open(os.path.join(cls.state, "server.log"), "w+")
        cls.proc = subprocess.Popen(
            [os.path.join(BIN, "afd-server"), "--listen=none", f"--state-dir={cls.state}",
             f"--socket={sock}", f"--ready-fd={w}"], pass_fds=(w,), stderr=cls.log)
        os.close(w)
        with os.fdopen(r) as f:
            ready = f.read()
        assert ready.startswith("READY "), ready
        cls.ch = grpc.insecure_channel(f"unix:{sock}")
        cb, cls.s = cb_grpc.CodebaseServiceStub(cls.ch), sb_grpc.SandboxServiceStub(cls.ch)
        c = cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="t", owner_id="u"))

        def chunks():
            yield cb_pb.UploadChunk(metadata=cb_pb.UploadChunk.Metadata(
                codebase_id=c.id, file_path="a", total_size=2))
            yield cb_pb.UploadChunk(data=b"a\n")
        cb.UploadFiles(chunks())
        sb = cls.s.CreateSandbox(sb_pb.CreateSandboxRequest(
            codebase_id=c.id, permissions=[P.PermissionRule(
                pattern="**", type=P.PATTERN_TYPE_GLOB, permission=P.PERMISSION_READ)]))
        cls.sb = cls.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        cls.run_tag = "%06d" % (int.from_bytes(os.urandom(4), "little") % 1000000)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        cls.proc.terminate()
        cls.proc.wait(60)
        cls.log.close()
        subprocess.run(["rm", "-rf", cls.state])

    def markers(self, k):
        """@k sleep durations no other process has: 3NNN.<run tag>."""
        out = []
        for _ in range(k):
            type(self).n += 1
            out.append(f"{3000 + self.n}.{self.run_tag}")
        return out

    def exec(self, command, timeout_s=0):
        req = self.sb_pb.ExecRequest(sandbox_id=self.sb.id, command=command)
        if timeout_s:
            req.timeout.seconds = timeout_s
        return self.s.Exec(req)

    def alive(self):
        self.assertEqual(self.exec("echo alive").stdout, "alive\n")

    def assert_none_left(self, ms, wait=True):
        left = lambda: [m for m in ms if marked(m)]
        if wait:
            wait_for(lambda: not left())
        self.assertEqual(left(), [], "processes of the command survived")

    def escapes(self, ms):
        """Shell text starting four processes that each leave the
        command's session: setsid'd jobs, a double fork with setsid, a
        setsid'd grandchild whose parent exits."""
        return (f"setsid sh -c 'sleep {ms[0]} & sleep {ms[1]}' & "
                f"(setsid sh -c 'sleep {ms[2]} &' &); "
                f"sh -c 'setsid sleep {ms[3]} &'; ")

    def wait_started(self, ms):
        self.assertTrue(wait_for(lambda: all(marked(m) for m in ms)), "never started")

    def test_timeout(self):
        ms = self.markers(5)
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.exec(self.escapes(ms) + f"sleep {ms[4]}", timeout_s=2)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assert_none_left(ms)
        self.alive()

    def test_main_process_exits(self):
        ms = self.markers(4)
        # The escapes are running when the main process exits; the result
        # is given only once none of them is left.
        alt = "|".join(ms)
        r = self.exec(self.escapes(ms) + "i=0; while [ $i -lt 200 ]; do "
                      f"n=$(ps -eo args | grep -cE '^sleep ({alt})$'); "
                      "[ $n -ge 4 ] && break; sleep 0.05; i=$((i+1)); done; echo $n")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(r.stdout, "4\n")
        self.assert_none_left(ms, wait=False)
        self.alive()

    def test_killed_reaper(self):
        # A command that kills its reaper (its parent) hands its tree to
        # the init, which kills all of it: the command reports SIGKILL.
        ms = self.markers(5)
        r = self.exec(self.escapes(ms) + f"sleep 0.3; kill -9 $PPID; exec sleep {ms[4]}",
                      timeout_s=60)
        self.assertEqual(r.exit_code, 137, r.stderr)
        self.assert_none_left(ms, wait=False)
        self.alive()

    def test_stopped_reaper(self):
        # A command that stops its reaper (SIGSTOP cannot be blocked) does
        # not stall its own end: the init continues the reaper at once.
        ms = self.markers(4)
        r = self.exec(f"kill -STOP $PPID; {self.escapes(ms)} echo ok", timeout_s=30)
        self.assertEqual((r.exit_code, r.stdout), (0, "ok\n"), r.stderr)
        self.assertLess(r.duration.seconds, 20)
        self.assert_none_left(ms, wait=False)
        self.alive()

    def test_stream_cancelled(self):
        ms = self.markers(5)
        it = self.s.ExecStream(self.sb_pb.ExecRequest(
            sandbox_id=self.sb.id, command=self.escapes(ms) + f"sleep {ms[4]}"))
        self.wait_started(ms)
        it.cancel()
        self.assert_none_left(ms)
        self.alive()

    def test_session(self):
        sess = self.s.CreateSession(self.sb_pb.CreateSessionRequest(sandbox_id=self.sb.id))
        ms = self.markers(4)
        # Background jobs live on between a session's commands, setsid'd
        # ones too; a timeout kills the command's own, setsid'd included.
        r = self.s.SessionExec(self.sb_pb.SessionExecRequest(
            session_id=sess.id, command=self.escapes(ms) + "true"))
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.wait_started(ms)
        ts = self.markers(2)
        req = self.sb_pb.SessionExecRequest(
            session_id=sess.id,
            command=f"setsid sh -c 'sleep {ts[0]} &'; sleep {ts[1]}")
        req.timeout.seconds = 2
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.s.SessionExec(req)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assert_none_left(ts)
        self.assertTrue(all(marked(m) for m in ms), "an earlier job was killed")
        self.assertEqual(self.s.SessionExec(self.sb_pb.SessionExecRequest(
            session_id=sess.id, command="echo usable")).stdout, "usable\n")
        # Destroying the session kills its whole tree.
        self.s.DestroySession(self.sb_pb.DestroySessionRequest(session_id=sess.id))
        self.assert_none_left(ms)
        self.alive()


def main():
    global BIN
    phase, BIN = sys.argv[1], sys.argv[2]
    cls = {"fuse": Fuse, "exec": Exec, "server": Server, "tree": Tree}[phase]
    suite = unittest.TestLoader().loadTestsFromTestCase(cls)
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
