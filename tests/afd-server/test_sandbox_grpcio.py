#!/usr/bin/python3
"""SandboxService end to end through python3-grpcio, driving a real
afd-server (argv[1]) with real af-fuse mounts and af-exec sandboxes, the way
the high-level client does: upload a tree, create a sandbox with rules,
start, exec, read results back through CodebaseService, destroy.

argv: afd-server af-fuse af-exec [suite]; suite "docker" runs the docker
runtime tests only. Exit 77 (skip) when a facility is missing.

Every test checks that what it started is gone: no mount under the state
dir in /proc/mounts, no helper process of the server left in /proc. Every
server runs under an af-test-guard for its temp dir, so a test that dies
(assertion, meson's timeout, SIGKILL) leaves nothing behind either.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

# The guard every daemon of these tests runs under (tests/common/), found
# next to this file when copied elsewhere (the rootless suite does).
sys.path[:0] = [d for d in (os.environ.get("AF_TEST_COMMON_DIR"),
                            os.path.dirname(os.path.abspath(__file__))) if d]
import af_test_guard  # noqa: E402

try:
    import grpc
    sys.path.insert(0, os.environ.get("AF_PROTO_PYTHON_DIR", ""))
    import codebase_pb2 as cb_pb
    import codebase_pb2_grpc as cb_grpc
    import common_pb2 as common_pb
    import sandbox_pb2 as sb_pb
    import sandbox_pb2_grpc as sb_grpc
    from google.protobuf import duration_pb2, timestamp_pb2
except ImportError as e:  # pragma: no cover
    print(f"SKIP: grpcio or generated stubs unavailable: {e}")
    sys.exit(77)

SERVER = FUSE = EXEC = None
SUITE = "integration"
C = grpc.StatusCode
P = common_pb
RUNNING = P.SANDBOX_STATUS_RUNNING
STOPPED = P.SANDBOX_STATUS_STOPPED
ERROR = P.SANDBOX_STATUS_ERROR
PENDING = P.SANDBOX_STATUS_PENDING

# This run's tag: the test's pid (zero-padded) and a random number. The
# commands a test later looks for on the host carry it (`sleep 777.<tag>`),
# so a concurrent run of this file (another checkout, the rootless suite)
# neither finds nor waits for this run's processes, nor this run for its.
TAG = f"{os.getpid():07d}{random.randrange(10**6):06d}"


def tagged(prefix):
    return prefix + TAG


def skip_reason():
    # tests/rootless runs this file as an unprivileged user against a
    # rootless server (AF_TEST_ROOTLESS=1).
    return af_test_guard.sandbox_skip_reason(rootless_ok=True)


def mounts_under(prefix):
    """Mount points under @prefix, once per mount: a root server's sandbox
    has two at its mount point (the shared bind, af-fuse's on top)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp.startswith(prefix):
                out.append(mp)
    return out


def procs_mentioning(needle):
    """Pids whose command line mentions @needle (our state dir), but for
    us and the guards (which name the dir they guard)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid() or int(pid) in af_test_guard.GUARD_PIDS:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        cmd = cmd.replace(b"\0", b" ")
        if needle.encode() in cmd:
            found.append((int(pid), cmd.decode(errors="replace")))
    return found


def wait_gone(pred, timeout=10.0):
    """Wait for @pred() to become empty. Processes killed elsewhere leave
    /proc on their own schedule; bounded, short sleeps."""
    end = time.monotonic() + timeout
    left = pred()
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = pred()
    return left


class Daemon:
    """A server on a temp dir, under a guard for that dir (from here to
    close(), across restarts: helpers that outlive a killed server stay the
    guard's until the restarted server takes them back)."""

    def __init__(self, top=None, extra=()):
        self.top = os.path.realpath(top or tempfile.mkdtemp(prefix="afd-sb-"))
        os.chmod(self.top, 0o755)
        self.state = os.path.join(self.top, "state")
        self.socket = os.path.join(self.top, "afd.sock")
        self.extra = extra
        self.guard = af_test_guard.Guard(self.top)
        self.start()

    def start(self):
        conf = os.path.join(self.top, "afd.conf")
        open(conf, "a").close()
        r, w = os.pipe()
        self.log = open(os.path.join(self.top, "server.log"), "a")
        self.proc = self.guard.spawn(
            [SERVER, f"--state-dir={self.state}", f"--socket={self.socket}",
             "--listen=127.0.0.1:0", f"--config={conf}", "--ready-fd=3",
             f"--fuse-helper={FUSE}", f"--exec-helper={EXEC}", *self.extra],
            stderr=self.log, pass_fds=(w,))
        line = af_test_guard.wait_ready(self.proc, r, w, self.log.name)
        self.port = int(line.split("tcp_port=")[1])
        self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        self.sb = sb_grpc.SandboxServiceStub(self.channel)
        self.cb = cb_grpc.CodebaseServiceStub(self.channel)

    def read_log(self):
        with open(os.path.join(self.top, "server.log")) as f:
            return f.read()

    def stop(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()

    def kill9(self):
        self.channel.close()
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def dump_logs(self):
        """The server's and every helper's log, for a failure message."""
        out = [self.read_log()]
        sbdir = os.path.join(self.state, "sandboxes")
        for sb in sorted(os.listdir(sbdir)) if os.path.isdir(sbdir) else []:
            for name in ("af-fuse.log", "af-exec.log"):
                path = os.path.join(sbdir, sb, name)
                if os.path.exists(path):
                    with open(path) as f:
                        out.append(f"--- {sb}/{name}\n{f.read()}")
        return "\n".join(out)

    def close(self):
        """Stop the server; the guard then kills whatever is left (naming
        it on stderr), unmounts under the dir and removes it."""
        self.stop()
        rc = self.guard.close()
        shutil.rmtree(self.top, ignore_errors=True)
        assert rc in (0, 1), f"af-test-guard could not clean {self.top} (status {rc})"


def upload(cb, cb_id, path, data):
    def chunks():
        yield cb_pb.UploadChunk(metadata=cb_pb.UploadChunk.Metadata(
            codebase_id=cb_id, file_path=path, total_size=len(data)))
        if data:
            yield cb_pb.UploadChunk(data=data)
    return cb.UploadFiles(chunks())


def download(cb, cb_id, path):
    return b"".join(c.data for c in cb.DownloadFile(
        cb_pb.DownloadFileRequest(codebase_id=cb_id, file_path=path)))


def rule(pattern, perm, prio=0, kind=P.PATTERN_TYPE_GLOB):
    return P.PermissionRule(pattern=pattern, type=kind, permission=perm, priority=prio)


# Every level in one rule set: a hidden directory, a view-only file, a
# read-only tree and a writable one (the default for the rest is none).
FOUR_LEVELS = [
    rule("**", P.PERMISSION_READ),
    rule("/secret", P.PERMISSION_NONE, 10, P.PATTERN_TYPE_DIRECTORY),
    rule("/config.env", P.PERMISSION_VIEW, 10, P.PATTERN_TYPE_FILE),
    rule("/out", P.PERMISSION_WRITE, 10, P.PATTERN_TYPE_DIRECTORY),
    rule("/out/**", P.PERMISSION_WRITE, 10),
]

TREE = {
    "README.md": b"hello readme\n",
    "src/main.c": b"int main(void) { return 0; }\n",
    "secret/key.pem": b"TOP SECRET\n",
    "config.env": b"PASSWORD=hunter2\n",
    "out/keep": b"",
}


class Base(unittest.TestCase):
    daemon = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
        cls.s = cls.daemon.sb
        cls.c = cls.daemon.cb

    @classmethod
    def tearDownClass(cls):
        d = cls.daemon
        d.stop()
        # Nothing of ours left: no mount, no helper.
        left_m = wait_gone(lambda: mounts_under(d.top))
        left_p = wait_gone(lambda: procs_mentioning(d.top))
        d.close()
        assert not left_m, f"mounts left behind: {left_m}"
        assert not left_p, f"processes left behind: {left_p}"

    def codebase(self, tree=TREE):
        cb = self.c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="t", owner_id="test"))
        for path, data in tree.items():
            upload(self.c, cb.id, path, data)
        return cb.id

    def sandbox(self, cb_id, rules=FOUR_LEVELS, start=True, **kw):
        sb = self.s.CreateSandbox(sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, permissions=rules, **kw))
        self.assertEqual(sb.status, PENDING)
        self.addCleanup(self.destroy_quietly, sb.id)
        if start:
            sb = self.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
            self.assertEqual(sb.status, RUNNING, sb.error)
        return sb

    def destroy_quietly(self, sb_id):
        try:
            self.s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb_id))
        except grpc.RpcError as e:
            if e.code() != C.NOT_FOUND:
                raise

    def exec(self, sb_id, command, **kw):
        return self.s.Exec(sb_pb.ExecRequest(sandbox_id=sb_id, command=command, **kw))

    def assertCode(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertTrue(cm.exception.details())
        return cm.exception


class Lifecycle(Base):
    def test_end_to_end_four_levels(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        self.assertEqual(sb.codebase_id, cb_id)
        self.assertEqual(len(sb.permissions), len(FOUR_LEVELS))
        self.assertTrue(sb.started_at.seconds > 0)

        # none: absent from listings, ENOENT.
        r = self.exec(sb.id, "ls -a /workspace")
        names = r.stdout.split()
        self.assertIn("README.md", names)
        self.assertIn("config.env", names)
        self.assertNotIn("secret", names)
        r = self.exec(sb.id, "cat /workspace/secret/key.pem")
        self.assertNotEqual(r.exit_code, 0)
        self.assertIn("No such file", r.stderr)
        # view: stat works, content does not.
        r = self.exec(sb.id, "stat -c %s /workspace/config.env && cat /workspace/config.env")
        self.assertEqual(r.stdout.split()[0], str(len(TREE["config.env"])))
        self.assertNotEqual(r.exit_code, 0)
        self.assertIn("ermission denied", r.stderr)
        self.assertNotIn("hunter2", r.stdout)
        # read: content, but no change.
        r = self.exec(sb.id, "cat /workspace/README.md")
        self.assertEqual((r.exit_code, r.stdout), (0, "hello readme\n"))
        r = self.exec(sb.id, "echo x > /workspace/README.md")
        self.assertNotEqual(r.exit_code, 0)
        self.assertIn("ermission denied", r.stderr)
        # write: create, and the file is committed after the command.
        r = self.exec(sb.id, "echo made inside > /workspace/out/new.txt")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertEqual(download(self.c, cb_id, "out/new.txt"), b"made inside\n")
        files = self.c.ListFiles(cb_pb.ListFilesRequest(codebase_id=cb_id, recursive=True))
        self.assertIn("out/new.txt", [f.path for f in files.files])
        # The read-only file is unchanged in the codebase.
        self.assertEqual(download(self.c, cb_id, "README.md"), b"hello readme\n")

        # Stop → STOPPED, no mount; start again works; destroy removes it.
        st = self.s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=sb.id))
        self.assertEqual(st.status, STOPPED)
        self.assertFalse(mounts_under(os.path.join(self.daemon.state, "mounts", sb.id)))
        self.assertCode(C.FAILED_PRECONDITION, self.exec, sb.id, "true")
        st = self.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        self.assertEqual(st.status, RUNNING)
        self.assertEqual(self.exec(sb.id, "cat /workspace/out/new.txt").stdout, "made inside\n")
        self.s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb.id))
        self.assertCode(C.NOT_FOUND, self.s.GetSandbox, sb_pb.GetSandboxRequest(sandbox_id=sb.id))
        # The codebase stays.
        self.c.GetCodebase(cb_pb.GetCodebaseRequest(codebase_id=cb_id))

    def test_exec_details(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        r = self.exec(sb.id, "echo out; echo err >&2; exit 3")
        self.assertEqual((r.stdout, r.stderr, r.exit_code), ("out\n", "err\n", 3))
        self.assertTrue(r.duration.seconds > 0 or r.duration.nanos > 0)
        r = self.exec(sb.id, "cat; pwd; echo $FOO", stdin="fed\n", env={"FOO": "bar"})
        self.assertEqual(r.stdout, "fed\n/workspace\nbar\n")
        r = self.exec(sb.id, "pwd", workdir="/workspace/src")
        self.assertEqual(r.stdout, "/workspace/src\n")
        # Nothing of the server's environment leaks in.
        r = self.exec(sb.id, "env")
        self.assertNotIn("AF_PROTO_PYTHON_DIR", r.stdout)

    def test_every_write_committed(self):
        """The commit after a command is skipped only when the delta is
        empty: many quick write-then-exec rounds, each checked from
        outside at once, with no-op commands, deletions and session
        commands in between; and each command's history row is there as
        soon as its answer is (the answer no longer waits for the row)."""
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        for i in range(40):
            r = self.exec(sb.id, f"echo {i} > /workspace/out/n.txt")
            self.assertEqual(r.exit_code, 0, r.stderr)
            self.assertEqual(download(self.c, cb_id, "out/n.txt"), f"{i}\n".encode())
            self.assertEqual(self.exec(sb.id, "true").exit_code, 0)
            if i % 5 == 0:
                r = self.exec(sb.id, "rm /workspace/out/n.txt")
                self.assertEqual(r.exit_code, 0, r.stderr)
                self.assertCode(C.NOT_FOUND, download, self.c, cb_id, "out/n.txt")
            if i % 7 == 0:
                r = self.s.SessionExec(sb_pb.SessionExecRequest(
                    session_id=sess.id, command=f"echo s{i} >> /workspace/out/s.txt"))
                self.assertEqual(r.exit_code, 0, r.stderr)
                self.assertTrue(download(self.c, cb_id, "out/s.txt").endswith(
                    f"s{i}\n".encode()))
            if i % 10 == 0:
                events = self.s.ListEvents(sb_pb.ListEventsRequest(
                    sandbox_id=sb.id, page_size=1000)).events
                last = [e for e in events if e.action == "sandbox.exec"][-1]
                self.assertIn("command=rm /workspace/out/n.txt" if i % 5 == 0
                              else "command=true", last.detail)
        # No input: the command reads end of file at once.
        r = self.exec(sb.id, "cat; echo done")
        self.assertEqual((r.exit_code, r.stdout), (0, "done\n"))

    def test_exec_stream_order(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        cmd = "for i in 1 2 3 4 5; do echo o$i; sleep 0.05; echo e$i >&2; sleep 0.05; done"
        seen = []
        for m in self.s.ExecStream(sb_pb.ExecRequest(sandbox_id=sb.id, command=cmd)):
            kind = "o" if m.type == sb_pb.ExecOutput.OUTPUT_TYPE_STDOUT else "e"
            for line in m.data.decode().split():
                seen.append(line)
                self.assertEqual(line[0], kind)
        self.assertEqual(seen, [f"{k}{i}" for i in range(1, 6) for k in "oe"])
        # A failing command still ends the stream normally.
        out = list(self.s.ExecStream(sb_pb.ExecRequest(sandbox_id=sb.id, command="exit 7")))
        self.assertEqual(out, [])

    def test_two_sandboxes_one_codebase(self):
        cb_id = self.codebase()
        writer = self.sandbox(cb_id)
        reader = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ),
                                            rule("/out/**", P.PERMISSION_NONE, 5)])
        self.assertEqual(self.exec(writer.id, "echo one > /workspace/out/a").exit_code, 0)
        self.assertNotEqual(self.exec(writer.id, "echo two > /workspace/b.txt").exit_code, 0)
        # The reader sees the committed README but not out/ (none for it).
        r = self.exec(reader.id, "ls /workspace; cat /workspace/out/a")
        self.assertNotIn("out", r.stdout.split())
        self.assertNotEqual(r.exit_code, 0)
        # Another sandbox with access sees the committed file.
        third = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        self.assertEqual(self.exec(third.id, "cat /workspace/out/a").stdout, "one\n")

    def test_manual_commit_changes_discard(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id, commit_mode=sb_pb.COMMIT_MODE_MANUAL)
        self.assertEqual(sb.commit_mode, sb_pb.COMMIT_MODE_MANUAL)
        self.assertEqual(self.exec(sb.id, "echo 1 > /workspace/out/m.txt").exit_code, 0)
        self.assertCode(C.NOT_FOUND, download, self.c, cb_id, "out/m.txt")
        ch = self.s.GetChanges(sb_pb.GetChangesRequest(sandbox_id=sb.id))
        self.assertIn("out/m.txt", list(ch.added))
        self.s.DiscardChanges(sb_pb.DiscardChangesRequest(sandbox_id=sb.id))
        ch = self.s.GetChanges(sb_pb.GetChangesRequest(sandbox_id=sb.id))
        self.assertEqual(list(ch.added) + list(ch.modified) + list(ch.deleted), [])
        self.assertNotEqual(self.exec(sb.id, "cat /workspace/out/m.txt").exit_code, 0)
        self.assertEqual(self.exec(sb.id, "echo 2 > /workspace/out/m.txt").exit_code, 0)
        ch = self.s.CommitChanges(sb_pb.CommitChangesRequest(sandbox_id=sb.id))
        self.assertIn("out/m.txt", list(ch.added))
        self.assertEqual(download(self.c, cb_id, "out/m.txt"), b"2\n")

    def test_update_permissions_live(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        self.assertEqual(self.exec(sb.id, "cat /workspace/README.md").exit_code, 0)
        up = self.s.UpdatePermissions(sb_pb.UpdatePermissionsRequest(
            sandbox_id=sb.id, permissions=[rule("/src/**", P.PERMISSION_READ)]))
        self.assertEqual(len(up.permissions), 1)
        r = self.exec(sb.id, "cat /workspace/README.md")
        self.assertNotEqual(r.exit_code, 0)
        self.assertEqual(self.s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=sb.id))
                         .permissions[0].pattern, "/src/**")

    def test_list_and_pagination(self):
        cb_id = self.codebase({"a": b"1"})
        ids = [self.sandbox(cb_id, start=False, labels={"n": str(i)}).id for i in range(5)]
        got, token = [], ""
        while True:
            page = self.s.ListSandboxes(sb_pb.ListSandboxesRequest(
                codebase_id=cb_id, page_size=2, page_token=token))
            self.assertLessEqual(len(page.sandboxes), 2)
            got += [s.id for s in page.sandboxes]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(got, ids)
        one = self.s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=ids[3]))
        self.assertEqual(dict(one.labels), {"n": "3"})

    def test_error_codes(self):
        s = self.s
        cb_id = self.codebase({"a": b"1"})
        # CreateSandbox validation.
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest())
        self.assertCode(C.NOT_FOUND, s.CreateSandbox,
                        sb_pb.CreateSandboxRequest(codebase_id="cb_" + "0" * 32))
        e = self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, permissions=[rule("**", P.PERMISSION_READ), rule("[", P.PERMISSION_READ)]))
        self.assertIn("rule 1", e.details())
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, permissions=[rule("x", P.PERMISSION_UNSPECIFIED)]))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, runtime=sb_pb.RUNTIME_TYPE_DOCKER))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, resources=P.ResourceLimits(memory_bytes=-1)))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, labels={f"k{i}": "v" for i in range(65)}))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, labels={"k" * 64: "v"}))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, labels={"k": "v" * 256}))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateSandbox, sb_pb.CreateSandboxRequest(
            codebase_id=cb_id, expires_in=duration_pb2.Duration(seconds=-5)))
        # Missing ids, unknown ids.
        unknown = "sb_" + "0" * 32
        self.assertCode(C.INVALID_ARGUMENT, s.GetSandbox, sb_pb.GetSandboxRequest())
        self.assertCode(C.NOT_FOUND, s.GetSandbox, sb_pb.GetSandboxRequest(sandbox_id=unknown))
        self.assertCode(C.NOT_FOUND, s.StartSandbox, sb_pb.StartSandboxRequest(sandbox_id=unknown))
        self.assertCode(C.NOT_FOUND, self.exec, unknown, "true")
        self.assertCode(C.INVALID_ARGUMENT, self.exec, "", "true")
        self.assertCode(C.NOT_FOUND, s.GetSession,
                        sb_pb.GetSessionRequest(session_id="sess_" + "0" * 32))
        self.assertCode(C.INVALID_ARGUMENT, s.GetSession, sb_pb.GetSessionRequest())
        # State: exec/stop of a sandbox not running; start of a running one.
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)], start=False)
        self.assertCode(C.FAILED_PRECONDITION, self.exec, sb.id, "true")
        self.assertCode(C.FAILED_PRECONDITION, s.StopSandbox,
                        sb_pb.StopSandboxRequest(sandbox_id=sb.id))
        s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        self.assertCode(C.FAILED_PRECONDITION, s.StartSandbox,
                        sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        self.assertCode(C.INVALID_ARGUMENT, self.exec, sb.id, "")
        # A non-zero exit is a result.
        self.assertEqual(self.exec(sb.id, "exit 42").exit_code, 42)
        # Timeout → DEADLINE_EXCEEDED, nothing survives.
        t0 = time.monotonic()
        bg, fg = tagged("sleep 7761000."), tagged("sleep 7761001.")
        self.assertCode(C.DEADLINE_EXCEEDED, self.exec, sb.id, f"{bg} & {fg}; echo never",
                        timeout=duration_pb2.Duration(nanos=300_000_000))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(wait_gone(lambda: procs_mentioning(bg) + procs_mentioning(fg)), [])
        # Closed session → FAILED_PRECONDITION.
        sess = s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        s.DestroySession(sb_pb.DestroySessionRequest(session_id=sess.id))
        self.assertCode(C.FAILED_PRECONDITION, s.SessionExec,
                        sb_pb.SessionExecRequest(session_id=sess.id, command="true"))
        # A codebase with sandboxes (here PENDING/RUNNING/STOPPED) is not
        # deleted: FAILED_PRECONDITION naming them; once they are destroyed,
        # it is.
        cb2 = self.codebase({"a": b"1"})
        pending = self.sandbox(cb2, rules=[rule("**", P.PERMISSION_READ)], start=False)
        stopped = self.sandbox(cb2, rules=[rule("**", P.PERMISSION_READ)])
        s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=stopped.id))
        e = self.assertCode(C.FAILED_PRECONDITION, self.c.DeleteCodebase,
                            cb_pb.DeleteCodebaseRequest(codebase_id=cb2))
        self.assertIn(pending.id, e.details())
        self.assertIn(stopped.id + " (STOPPED)", e.details())
        self.c.GetCodebase(cb_pb.GetCodebaseRequest(codebase_id=cb2))
        for x in (pending, stopped):
            s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=x.id))
        self.c.DeleteCodebase(cb_pb.DeleteCodebaseRequest(codebase_id=cb2))
        self.assertCode(C.NOT_FOUND, self.c.GetCodebase,
                        cb_pb.GetCodebaseRequest(codebase_id=cb2))
        # A method the server does not offer.
        m = self.daemon.channel.unary_unary("/sandbox.v1.SandboxService/Nope")
        self.assertCode(C.UNIMPLEMENTED, m, b"")


class Sessions(Base):
    def test_session_state_and_streams(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id)
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id,
                                                               env={"GREETING": "hi"}))
        self.assertEqual(sess.status, P.SESSION_STATUS_ACTIVE)
        self.assertTrue(sess.id.startswith("sess_"))
        run = lambda c: self.s.SessionExec(sb_pb.SessionExecRequest(session_id=sess.id, command=c))
        self.assertEqual(run("cd /workspace/src && export X=42").exit_code, 0)
        r = run("pwd; echo $X $GREETING; echo oops >&2; false")
        self.assertEqual(r.stdout, "/workspace/src\n42 hi\n")
        self.assertEqual(r.stderr, "oops\n")
        self.assertEqual(r.exit_code, 1)
        # Written in a session: committed like any command.
        self.assertEqual(run("echo s > /workspace/out/s.txt").exit_code, 0)
        self.assertEqual(download(self.c, cb_id, "out/s.txt"), b"s\n")
        chunks = list(self.s.SessionExecStream(sb_pb.SessionExecRequest(
            session_id=sess.id, command="echo a; echo b >&2")))
        self.assertEqual(b"".join(c.data for c in chunks
                                  if c.type == sb_pb.ExecOutput.OUTPUT_TYPE_STDOUT), b"a\n")
        self.assertEqual(b"".join(c.data for c in chunks
                                  if c.type == sb_pb.ExecOutput.OUTPUT_TYPE_STDERR), b"b\n")
        listed = self.s.ListSessions(sb_pb.ListSessionsRequest(sandbox_id=sb.id))
        self.assertEqual([x.id for x in listed.sessions], [sess.id])
        self.s.DestroySession(sb_pb.DestroySessionRequest(session_id=sess.id))
        got = self.s.GetSession(sb_pb.GetSessionRequest(session_id=sess.id))
        self.assertEqual(got.status, P.SESSION_STATUS_CLOSED)
        self.assertTrue(got.closed_at.seconds > 0)

    def test_stop_closes_sessions(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        self.s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=sb.id))
        got = self.s.GetSession(sb_pb.GetSessionRequest(session_id=sess.id))
        self.assertEqual(got.status, P.SESSION_STATUS_CLOSED)


class Events(Base):
    def events(self, **kw):
        out, token = [], ""
        while True:
            r = self.s.ListEvents(sb_pb.ListEventsRequest(page_token=token, **kw))
            out += r.events
            token = r.next_page_token
            if not token:
                return out

    def test_history_rpc_and_cli(self):
        cb_id = self.codebase({"a": b"1"})
        t0 = time.time()
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_WRITE)])
        self.exec(sb.id, "echo hi > /workspace/h; exit 3")
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        self.s.SessionExec(sb_pb.SessionExecRequest(session_id=sess.id, command="true"))
        self.assertCode(C.DEADLINE_EXCEEDED, self.exec, sb.id, "sleep 30",
                        timeout=duration_pb2.Duration(nanos=200_000_000))
        self.s.DestroySession(sb_pb.DestroySessionRequest(session_id=sess.id))
        self.s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=sb.id))
        ev = self.events(sandbox_id=sb.id)
        actions = [e.action for e in ev]
        for a in ("sandbox.create", "sandbox.start", "sandbox.exec", "sandbox.commit",
                  "session.create", "session.exec", "session.destroy", "sandbox.stop"):
            self.assertIn(a, actions)
        self.assertEqual([e.id for e in ev], sorted(e.id for e in ev))
        execs = [e for e in ev if e.action == "sandbox.exec"]
        self.assertEqual(len(execs), 2)
        self.assertIn("exit=3 ", execs[0].detail)
        self.assertIn("result=exited", execs[0].detail)
        self.assertIn("duration_ms=", execs[0].detail)
        self.assertTrue(execs[0].detail.endswith("command=echo hi > /workspace/h; exit 3"))
        self.assertIn("result=timeout", execs[1].detail)
        self.assertTrue(execs[0].actor.startswith("uid:"), execs[0].actor)
        sx = [e for e in ev if e.action == "session.exec"]
        self.assertEqual(len(sx), 1)
        self.assertEqual(sx[0].session_id, sess.id)
        self.assertEqual(sx[0].codebase_id, cb_id)
        self.assertGreaterEqual(ev[0].time.seconds, int(t0) - 1)
        # Paging returns the same events, a few at a time.
        paged = []
        token = ""
        while True:
            r = self.s.ListEvents(sb_pb.ListEventsRequest(sandbox_id=sb.id, page_size=3,
                                                          page_token=token))
            self.assertLessEqual(len(r.events), 3)
            paged += r.events
            token = r.next_page_token
            if not token:
                break
        self.assertEqual([e.id for e in paged], [e.id for e in ev])
        # since: nothing from the future; a codebase filter sees the sandbox's.
        future = self.s.ListEvents(sb_pb.ListEventsRequest(
            sandbox_id=sb.id, since=timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600)))
        self.assertEqual(len(future.events), 0)
        self.assertIn(sb.id, {e.sandbox_id for e in self.events(codebase_id=cb_id)})
        self.assertCode(C.NOT_FOUND, self.s.ListEvents, sb_pb.ListEventsRequest(sandbox_id="nope"))
        self.assertCode(C.INVALID_ARGUMENT, self.s.ListEvents,
                        sb_pb.ListEventsRequest(sandbox_id=sb.id, page_token="x"))
        # The same history from the command line, read-only beside the
        # running server.
        out = subprocess.run(
            [SERVER, f"--state-dir={self.daemon.state}",
             "--events", f"--sandbox={sb.id}", "--since=1h"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [l.split("\t") for l in out.stdout.splitlines()]
        self.assertEqual([l[2] for l in lines], actions)
        self.assertTrue(all(l[4] == sb.id for l in lines))
        self.assertIn("command=echo hi > /workspace/h; exit 3", out.stdout)
        bad = subprocess.run([SERVER, f"--state-dir={self.daemon.state}", "--events",
                              "--since=yesterday"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--since", bad.stderr)

    def test_scoped_caller(self):
        """A unix caller that is not root reads no history but its own:
        listing everything, or another owner's sandbox, is refused."""
        if os.geteuid() != 0:
            self.skipTest("needs root to call as another uid")
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)], start=False)
        code = (
            "import os, sys, grpc\n"
            "sys.path.insert(0, os.environ.get('AF_PROTO_PYTHON_DIR', ''))\n"
            "import sandbox_pb2 as sb_pb, sandbox_pb2_grpc as sb_grpc\n"
            "s = sb_grpc.SandboxServiceStub(grpc.insecure_channel('unix:' + sys.argv[1]))\n"
            "for kw in ({}, {'sandbox_id': sys.argv[2]}):\n"
            "    try:\n"
            "        s.ListEvents(sb_pb.ListEventsRequest(**kw))\n"
            "        print('OK')\n"
            "    except grpc.RpcError as e:\n"
            "        print(e.code().name)\n")
        out = subprocess.run([sys.executable, "-c", code, self.daemon.socket, sb.id],
                             capture_output=True, text=True, timeout=60,
                             preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        self.assertEqual(out.returncode, 0, out.stderr)
        got = out.stdout.split()
        self.assertEqual(got[0], "PERMISSION_DENIED")
        self.assertIn(got[1], ("PERMISSION_DENIED", "NOT_FOUND"))

    def test_retention(self):
        """events.max_count bounds the table: a restart with a low bound
        prunes the oldest, in batches, keeping the newest."""
        top = tempfile.mkdtemp(prefix="afd-sb-")
        os.chmod(top, 0o755)
        d = Daemon(top=top)
        try:
            cb = d.cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="e"))
            for i in range(30):
                upload(d.cb, cb.id, f"f{i}", b"x")
            total = len(list_all(d.sb, codebase_id=cb.id))
            self.assertGreaterEqual(total, 31)
            d.stop()
            d.extra = ("--max-count=10",)
            d.start()
            left = list_all(d.sb, codebase_id=cb.id)
            self.assertEqual(len(left), 10)
            self.assertEqual(left[-1].detail.split()[0], "path=f29")
        finally:
            d.close()


def list_all(stub, **kw):
    out, token = [], ""
    while True:
        r = stub.ListEvents(sb_pb.ListEventsRequest(page_token=token, **kw))
        out += r.events
        token = r.next_page_token
        if not token:
            return out


class Limits(Base):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(extra=("--max-sessions=2", "--max-execs=1",
                                   "--max-running-per-owner=2"))
        cls.s = cls.daemon.sb
        cls.c = cls.daemon.cb

    def test_limits(self):
        cb_id = self.codebase({"a": b"1"})
        rules = [rule("**", P.PERMISSION_READ)]
        a = self.sandbox(cb_id, rules=rules)
        self.sandbox(cb_id, rules=rules)
        third = self.sandbox(cb_id, rules=rules, start=False)
        e = self.assertCode(C.RESOURCE_EXHAUSTED, self.s.StartSandbox,
                            sb_pb.StartSandboxRequest(sandbox_id=third.id))
        self.assertIn("max_running_per_owner", e.details())
        for _ in range(2):
            self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=a.id))
        e = self.assertCode(C.RESOURCE_EXHAUSTED, self.s.CreateSession,
                            sb_pb.CreateSessionRequest(sandbox_id=a.id))
        self.assertIn("max_sessions", e.details())
        slow = self.s.Exec.future(sb_pb.ExecRequest(sandbox_id=a.id, command="sleep 1"))
        time.sleep(0.3)
        e = self.assertCode(C.RESOURCE_EXHAUSTED, self.exec, a.id, "true")
        self.assertIn("max_execs", e.details())
        self.assertEqual(slow.result().exit_code, 0)


class Supervision(Base):
    def test_helper_death_is_error(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        mine = [p for p, cmd in procs_mentioning(sb.id) if "af-fuse" in cmd.split()[0]]
        self.assertEqual(len(mine), 1)
        os.kill(mine[0], signal.SIGKILL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            got = self.s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=sb.id))
            if got.status == ERROR:
                break
            time.sleep(0.05)
        self.assertEqual(got.status, ERROR)
        self.assertIn("af-fuse", got.error)
        self.assertFalse(wait_gone(lambda: procs_mentioning(sb.id)))
        self.assertFalse(wait_gone(lambda: mounts_under(os.path.join(self.daemon.state, "mounts"))))
        self.assertCode(C.FAILED_PRECONDITION, self.exec, sb.id, "true")
        # ERROR is restartable.
        st = self.s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        self.assertEqual(st.status, RUNNING)
        self.assertEqual(st.error, "")

    def test_start_failure_leaves_nothing(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)], start=False)
        # Break the codebase directory under the server: af-fuse cannot mount.
        src = os.path.join(self.daemon.state, "codebases", cb_id)
        os.rename(src, src + ".away")
        try:
            self.assertCode(C.INTERNAL, self.s.StartSandbox,
                            sb_pb.StartSandboxRequest(sandbox_id=sb.id))
        finally:
            os.rename(src + ".away", src)
        got = self.s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=sb.id))
        self.assertEqual(got.status, ERROR)
        self.assertTrue(got.error)
        self.assertFalse(wait_gone(lambda: procs_mentioning(sb.id)))
        self.assertFalse(mounts_under(os.path.join(self.daemon.state, "mounts")))

    def test_disconnect_kills_session_command(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        needle = tagged("sleep 777.")
        fut = self.s.SessionExec.future(sb_pb.SessionExecRequest(
            session_id=sess.id, command=needle))
        end = time.monotonic() + 10
        while not procs_mentioning(needle) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertTrue(procs_mentioning(needle))
        fut.cancel()
        self.assertFalse(wait_gone(lambda: procs_mentioning(needle)))

    def spawn_client(self, method, request_py):
        """A separate python3-grpcio process calling @method with the
        request built by @request_py; killed by the test, with no goodbye."""
        code = (
            "import os, sys, grpc\n"
            "sys.path.insert(0, os.environ.get('AF_PROTO_PYTHON_DIR', ''))\n"
            "import sandbox_pb2 as sb_pb, sandbox_pb2_grpc as sb_grpc\n"
            f"ch = grpc.insecure_channel('unix:{self.daemon.socket}')\n"
            "s = sb_grpc.SandboxServiceStub(ch)\n"
            "r = getattr(s, os.environ['AF_METHOD'])(eval(os.environ['AF_REQUEST']))\n"
            "list(r) if hasattr(r, '__iter__') else r\n")
        # The request travels in the environment: the command text must not
        # appear in this process's command line (the test looks for it).
        env = dict(os.environ, AF_METHOD=method, AF_REQUEST=request_py)
        return subprocess.Popen([sys.executable, "-c", code], env=env)

    def wait_running(self, needle):
        end = time.monotonic() + 20
        while not procs_mentioning(needle) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertTrue(procs_mentioning(needle), f"{needle} never started")

    def test_killed_client_kills_exec(self):
        """No deadline, no cancel: the client process just dies (SIGKILL).
        Exec, ExecStream, SessionExecStream: the command is killed at once,
        background children included, and the sandbox goes on."""
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        sess = self.s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=sb.id))
        bg, fg = tagged("sleep 7781."), tagged("sleep 7791.")
        stream, session = tagged("sleep 7792."), tagged("sleep 7793.")
        cases = [
            ("Exec", f"sb_pb.ExecRequest(sandbox_id='{sb.id}', "
                     f"command='{bg} & {fg}; true')", fg, bg),
            ("ExecStream", f"sb_pb.ExecRequest(sandbox_id='{sb.id}', command='{stream}')",
             stream, None),
            ("SessionExecStream", f"sb_pb.SessionExecRequest(session_id='{sess.id}', "
                                  f"command='{session}')", session, None),
        ]
        for method, req, needle, bg in cases:
            with self.subTest(method=method):
                client = self.spawn_client(method, req)
                try:
                    self.wait_running(needle)
                finally:
                    client.kill()
                    client.wait()
                self.assertFalse(wait_gone(lambda: procs_mentioning(needle)))
                if bg:
                    self.assertFalse(wait_gone(lambda: procs_mentioning(bg)))
        self.assertEqual(self.exec(sb.id, "echo alive").stdout, "alive\n")
        # The session's command ended with its session, recorded as closed.
        got = self.s.GetSession(sb_pb.GetSessionRequest(session_id=sess.id))
        self.assertEqual(got.status, P.SESSION_STATUS_CLOSED)

    def test_cancelled_exec_is_killed(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        needle = tagged("sleep 7794.")
        fut = self.s.Exec.future(sb_pb.ExecRequest(sandbox_id=sb.id, command=needle))
        self.wait_running(needle)
        fut.cancel()
        self.assertFalse(wait_gone(lambda: procs_mentioning(needle)))
        self.assertEqual(self.exec(sb.id, "echo alive").stdout, "alive\n")

    def test_deadline_kills_command(self):
        cb_id = self.codebase({"a": b"1"})
        sb = self.sandbox(cb_id, rules=[rule("**", P.PERMISSION_READ)])
        needle = tagged("sleep 778.")
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id, command=needle), timeout=0.5)
        self.assertEqual(cm.exception.code(), C.DEADLINE_EXCEEDED)
        self.assertFalse(wait_gone(lambda: procs_mentioning(needle)))
        self.assertEqual(self.exec(sb.id, "echo alive").stdout, "alive\n")


class Recovery(unittest.TestCase):
    def test_kill9_and_restart(self):
        d = Daemon()
        try:
            s, c = d.sb, d.cb
            cb = c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="r"))
            upload(c, cb.id, "a", b"1")
            ids = []
            for _ in range(3):
                sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(
                    codebase_id=cb.id, permissions=[rule("**", P.PERMISSION_WRITE)]))
                s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
                ids.append(sb.id)
            sess = s.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=ids[0]))
            self.assertEqual(len(set(mounts_under(d.top))), 3)
            d.kill9()
            d.start()
            s = d.sb
            for i in ids:
                got = s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=i))
                self.assertEqual(got.status, STOPPED)
            self.assertEqual(s.GetSession(sb_pb.GetSessionRequest(session_id=sess.id)).status,
                             P.SESSION_STATUS_CLOSED)
            self.assertFalse(mounts_under(d.top))
            self.assertFalse(wait_gone(lambda: [p for p in procs_mentioning(d.top)
                                                if p[0] != d.proc.pid]))
            # Truthful means usable: start again and exec.
            try:
                s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=ids[1]))
            except grpc.RpcError:
                print(d.dump_logs(), file=sys.stderr)
                raise
            r = s.Exec(sb_pb.ExecRequest(sandbox_id=ids[1], command="cat /workspace/a"))
            self.assertEqual(r.stdout, "1")
        finally:
            d.stop()
            left_m = wait_gone(lambda: mounts_under(d.top))
            left_p = wait_gone(lambda: procs_mentioning(d.top))
            d.close()
        self.assertFalse(left_m)
        self.assertFalse(left_p)

    def test_kill9_and_restart_policy(self):
        """sandbox.recovery=restart: after kill -9, the sandboxes that were
        RUNNING are RUNNING again, can exec, and see what they wrote; a
        STOPPED one stays STOPPED."""
        top = tempfile.mkdtemp(prefix="afd-sb-")
        os.chmod(top, 0o755)
        with open(os.path.join(top, "afd.conf"), "w") as f:
            f.write("[sandbox]\nrecovery=restart\n")
        d = Daemon(top=top)
        try:
            s, c = d.sb, d.cb
            cb = c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="r"))
            upload(c, cb.id, "a", b"1")
            ids = []
            for i in range(3):
                sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(
                    codebase_id=cb.id, permissions=[rule("**", P.PERMISSION_WRITE)]))
                s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
                ids.append(sb.id)
            s.Exec(sb_pb.ExecRequest(sandbox_id=ids[0], command="echo w > /workspace/w"))
            s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=ids[2]))
            old = {p for p, _ in procs_mentioning(d.top)}
            d.kill9()
            d.start()
            s = d.sb
            for i in ids[:2]:
                got = s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=i))
                self.assertEqual(got.status, RUNNING, d.dump_logs())
                r = s.Exec(sb_pb.ExecRequest(sandbox_id=i, command="cat /workspace/a /workspace/w"))
                self.assertEqual(r.stdout, "1w\n")
            self.assertEqual(s.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=ids[2])).status,
                             STOPPED)
            # One mount per running sandbox, and none of the old helpers.
            self.assertEqual(len(set(mounts_under(d.top))), 2)
            self.assertFalse(wait_gone(lambda: [p for p, _ in procs_mentioning(d.top)
                                                if p in old]))
        finally:
            d.stop()
            left_m = wait_gone(lambda: mounts_under(d.top))
            left_p = wait_gone(lambda: procs_mentioning(d.top))
            d.close()
        self.assertFalse(left_m)
        self.assertFalse(left_p)

    def test_expiry(self):
        d = Daemon()
        try:
            cb = d.cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="e"))
            sb = d.sb.CreateSandbox(sb_pb.CreateSandboxRequest(
                codebase_id=cb.id, permissions=[rule("**", P.PERMISSION_READ)],
                expires_in=duration_pb2.Duration(seconds=1)))
            self.assertTrue(sb.expires_at.seconds > 0)
            d.sb.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
            end = time.monotonic() + 15
            gone = False
            while time.monotonic() < end and not gone:
                try:
                    d.sb.GetSandbox(sb_pb.GetSandboxRequest(sandbox_id=sb.id))
                    time.sleep(0.1)
                except grpc.RpcError as e:
                    gone = e.code() == C.NOT_FOUND
            self.assertTrue(gone)
            self.assertFalse(wait_gone(lambda: mounts_under(d.top)))
        finally:
            d.close()


class Concurrency(Base):
    def test_twenty_at_once(self):
        cb_id = self.codebase({"a": b"1"})
        rules = [rule("**", P.PERMISSION_READ)]
        sbs = [self.s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb_id,
                                                               permissions=rules))
               for _ in range(20)]
        futs = [self.s.StartSandbox.future(sb_pb.StartSandboxRequest(sandbox_id=x.id))
                for x in sbs]
        for f in futs:
            self.assertEqual(f.result().status, RUNNING)
        self.assertEqual(len(set(mounts_under(os.path.join(self.daemon.state, "mounts")))), 20)
        futs = [self.s.Exec.future(sb_pb.ExecRequest(sandbox_id=x.id, command="cat /workspace/a"))
                for x in sbs]
        for f in futs:
            self.assertEqual(f.result().stdout, "1")
        futs = [self.s.DestroySandbox.future(sb_pb.DestroySandboxRequest(sandbox_id=x.id))
                for x in sbs]
        for f in futs:
            f.result()
        self.assertFalse(wait_gone(lambda: mounts_under(os.path.join(self.daemon.state, "mounts"))))
        self.assertFalse(wait_gone(lambda: [p for p in procs_mentioning(self.daemon.top)
                                            if p[0] != self.daemon.proc.pid]))


class Docker(Base):
    def test_docker_runtime(self):
        cb_id = self.codebase()
        sb = self.sandbox(cb_id, runtime=sb_pb.RUNTIME_TYPE_DOCKER,
                          image=os.environ.get("AF_TEST_DOCKER_IMAGE", "agentfense-busybox:test"))
        r = self.exec(sb.id, "cat /workspace/README.md; ls /workspace")
        self.assertEqual(r.exit_code, 0, r.stderr)
        self.assertIn("hello readme", r.stdout)
        self.assertNotIn("secret", r.stdout.split())
        self.assertEqual(self.exec(sb.id, "echo d > /workspace/out/d.txt").exit_code, 0)
        self.assertEqual(download(self.c, cb_id, "out/d.txt"), b"d\n")


def docker_reason():
    """Why the docker runtime cannot be tested here, or None; imports the
    suite's busybox image into the engine (DOCKER_HOST's) when missing."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return "no Docker engine answers (scripts/start-dockerd.sh starts one)"
    image = os.environ.get("AF_TEST_DOCKER_IMAGE", "agentfense-busybox:test")
    if subprocess.run(["docker", "image", "inspect", image], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        return None
    script = os.path.join(os.environ.get("AF_TEST_COMMON_DIR", ""), "make-test-image.sh")
    r = subprocess.run(["sh", script, image], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return f"cannot import the test image {image}: {r.stderr.strip()}"
    return None


if __name__ == "__main__":
    SERVER, FUSE, EXEC = sys.argv[1:4]
    SUITE = sys.argv[4] if len(sys.argv) > 4 else "integration"
    reason = skip_reason() or (docker_reason() if SUITE == "docker" else None)
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    loader = unittest.TestLoader()
    if SUITE == "docker":
        suite = loader.loadTestsFromTestCase(Docker)
    else:
        names = [a for a in sys.argv[5:]]
        classes = [Lifecycle, Sessions, Events, Limits, Supervision, Recovery, Concurrency]
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(k) for k in classes)
        if names:
            suite = unittest.TestSuite(loader.loadTestsFromNames(names, sys.modules[__name__]))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)
