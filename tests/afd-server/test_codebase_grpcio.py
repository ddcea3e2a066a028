#!/usr/bin/python3
"""CodebaseService through python3-grpcio, an independent client.

Starts a real afd-server (argv[1]) on a temp state dir, then drives every
method over the unix socket and TCP with the stubs generated from proto/
(directory in $AF_PROTO_PYTHON_DIR): success, each error code, pagination,
and ownership across two uids on the unix socket. Exit 77 (skip) when
grpcio or the stubs are missing.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

# The guard the server runs under (tests/common/af_test_guard.py).
sys.path[:0] = [d for d in (os.environ.get("AF_TEST_COMMON_DIR"),
                            os.path.dirname(os.path.abspath(__file__))) if d]
import af_test_guard  # noqa: E402

try:
    import grpc
    sys.path.insert(0, os.environ.get("AF_PROTO_PYTHON_DIR", ""))
    import codebase_pb2 as cb_pb
    import codebase_pb2_grpc as cb_grpc
except ImportError as e:  # pragma: no cover
    print(f"SKIP: grpcio or generated stubs unavailable: {e}")
    sys.exit(77)

SERVER = None
C = grpc.StatusCode


class Daemon:
    """A server on a temp dir, under an af-test-guard for that dir: however
    the test ends, nothing of the server's is left behind."""

    def __init__(self, extra=()):
        self.top = os.path.realpath(tempfile.mkdtemp(prefix="afd-py-"))
        os.chmod(self.top, 0o755)
        self.state = os.path.join(self.top, "state")
        self.socket = os.path.join(self.top, "afd.sock")
        conf = os.path.join(self.top, "afd.conf")
        open(conf, "w").close()
        self.guard = af_test_guard.Guard(self.top)
        r, w = os.pipe()
        self.log = open(os.path.join(self.top, "server.log"), "w")
        self.proc = self.guard.spawn(
            [SERVER, f"--state-dir={self.state}", f"--socket={self.socket}",
             "--listen=127.0.0.1:0", f"--config={conf}", "--ready-fd=3", *extra],
            stdout=1, stderr=self.log, pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            line = f.read()  # until the server closes it: ready, or dead
        if not line.startswith("READY "):
            self.close()
            raise RuntimeError("afd-server did not start")
        self.port = int(line.split("tcp_port=")[1])

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()
        # The guard kills what is left (naming it), removes the dir.
        rc = self.guard.close()
        shutil.rmtree(self.top, ignore_errors=True)
        assert rc in (0, 1), f"af-test-guard could not clean {self.top} (status {rc})"


def upload_chunks(cb_id, path, data, declared=None, chunk=65536):
    md = cb_pb.UploadChunk.Metadata(codebase_id=cb_id, file_path=path,
                                    total_size=len(data) if declared is None else declared)
    yield cb_pb.UploadChunk(metadata=md)
    for off in range(0, len(data), chunk):
        yield cb_pb.UploadChunk(data=data[off:off + chunk])


class CodebaseServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.unix = grpc.insecure_channel(f"unix:{cls.d.socket}")
        cls.tcp = grpc.insecure_channel(f"127.0.0.1:{cls.d.port}")
        cls.s = cb_grpc.CodebaseServiceStub(cls.unix)
        cls.t = cb_grpc.CodebaseServiceStub(cls.tcp)

    @classmethod
    def tearDownClass(cls):
        cls.unix.close()
        cls.tcp.close()
        cls.d.close()

    def assertCode(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            r = fn(*args, **kw)
            if hasattr(r, "__iter__") and not isinstance(r, (bytes, str)):
                list(r)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertTrue(cm.exception.details())
        return cm.exception

    def test_roundtrip_unix_and_tcp(self):
        for stub in (self.s, self.t):
            cb = stub.CreateCodebase(cb_pb.CreateCodebaseRequest(name="py", owner_id="me"))
            self.assertTrue(cb.id.startswith("cb_"))
            self.assertGreater(cb.created_at.seconds, 1600000000)
            data = os.urandom(700_000)
            res = stub.UploadFiles(upload_chunks(cb.id, "dir/blob.bin", data))
            self.assertEqual(res.size, len(data))
            self.assertEqual(res.checksum, hashlib.sha256(data).hexdigest())
            self.assertEqual(res.file_path, "dir/blob.bin")
            self.assertEqual(res.codebase_id, cb.id)
            chunks = list(stub.DownloadFile(
                cb_pb.DownloadFileRequest(codebase_id=cb.id, file_path="dir/blob.bin")))
            self.assertEqual(b"".join(c.data for c in chunks), data)
            self.assertTrue(all(64 * 1024 <= len(c.data) <= 1 << 20 for c in chunks[:-1]))
            empty = stub.UploadFiles(upload_chunks(cb.id, "empty", b""))
            self.assertEqual(empty.checksum, hashlib.sha256(b"").hexdigest())
            self.assertEqual(b"".join(c.data for c in stub.DownloadFile(
                cb_pb.DownloadFileRequest(codebase_id=cb.id, file_path="empty"))), b"")
            got = stub.GetCodebase(cb_pb.GetCodebaseRequest(codebase_id=cb.id))
            self.assertEqual((got.size, got.file_count), (len(data), 2))
            lf = stub.ListFiles(cb_pb.ListFilesRequest(codebase_id=cb.id, recursive=True))
            self.assertEqual([(f.path, f.name, f.is_dir) for f in lf.files],
                             [("dir", "dir", True), ("dir/blob.bin", "blob.bin", False),
                              ("empty", "empty", False)])
            self.assertEqual(lf.files[1].size, len(data))
            self.assertGreater(lf.files[1].modified_at.seconds, 0)
            lf = stub.ListFiles(cb_pb.ListFilesRequest(codebase_id=cb.id, path="dir"))
            self.assertEqual([f.path for f in lf.files], ["dir/blob.bin"])
            stub.DeleteCodebase(cb_pb.DeleteCodebaseRequest(codebase_id=cb.id))
            self.assertCode(C.NOT_FOUND, stub.GetCodebase,
                            cb_pb.GetCodebaseRequest(codebase_id=cb.id))

    def test_replace_is_atomic_and_sizes_exact(self):
        cb = self.s.CreateCodebase(cb_pb.CreateCodebaseRequest(name="r"))
        self.s.UploadFiles(upload_chunks(cb.id, "f", b"x" * 1000))
        self.s.UploadFiles(upload_chunks(cb.id, "f", b"y" * 10))
        got = self.s.GetCodebase(cb_pb.GetCodebaseRequest(codebase_id=cb.id))
        self.assertEqual((got.size, got.file_count), (10, 1))
        data = b"".join(c.data for c in self.s.DownloadFile(
            cb_pb.DownloadFileRequest(codebase_id=cb.id, file_path="f")))
        self.assertEqual(data, b"y" * 10)

    def test_pagination(self):
        owner = "pager"
        ids = {self.s.CreateCodebase(cb_pb.CreateCodebaseRequest(name=f"p{i}", owner_id=owner)).id
               for i in range(7)}
        seen, token, pages = [], "", 0
        while True:
            r = self.s.ListCodebases(cb_pb.ListCodebasesRequest(owner_id=owner, page_size=3,
                                                                page_token=token))
            seen += [c.id for c in r.codebases]
            pages += 1
            token = r.next_page_token
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), sorted(ids))
        self.assertEqual(len(seen), len(set(seen)))
        self.assertCode(C.INVALID_ARGUMENT, self.s.ListCodebases,
                        cb_pb.ListCodebasesRequest(page_token="not-a-token"))
        self.assertCode(C.INVALID_ARGUMENT, self.s.ListCodebases,
                        cb_pb.ListCodebasesRequest(page_size=-1))

    def test_error_codes(self):
        cb = self.s.CreateCodebase(cb_pb.CreateCodebaseRequest(name="errors"))
        self.s.UploadFiles(upload_chunks(cb.id, "d/f", b"1"))
        missing = "cb_" + "0" * 32
        s = self.s
        self.assertCode(C.INVALID_ARGUMENT, s.CreateCodebase, cb_pb.CreateCodebaseRequest())
        self.assertCode(C.INVALID_ARGUMENT, s.CreateCodebase,
                        cb_pb.CreateCodebaseRequest(name="n" * 256))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateCodebase,
                        cb_pb.CreateCodebaseRequest(name="ctl\x07"))
        self.assertCode(C.INVALID_ARGUMENT, s.CreateCodebase,
                        cb_pb.CreateCodebaseRequest(name="x", owner_id="o" * 256))
        self.assertCode(C.INVALID_ARGUMENT, s.GetCodebase, cb_pb.GetCodebaseRequest())
        self.assertCode(C.NOT_FOUND, s.GetCodebase, cb_pb.GetCodebaseRequest(codebase_id=missing))
        self.assertCode(C.NOT_FOUND, s.GetCodebase,
                        cb_pb.GetCodebaseRequest(codebase_id="../etc"))
        self.assertCode(C.NOT_FOUND, s.DeleteCodebase,
                        cb_pb.DeleteCodebaseRequest(codebase_id=missing))
        # Uploads: metadata rules, sizes, shapes, limits.
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles, iter([]))
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles, iter([cb_pb.UploadChunk(data=b"x")]))
        md = cb_pb.UploadChunk(metadata=cb_pb.UploadChunk.Metadata(
            codebase_id=cb.id, file_path="m", total_size=1))
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles, iter([md, md]))
        for bad in ["../x", "a/../../x", "..", "/etc/passwd", "x\0y", "", ".", "c" * 256]:
            self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles, upload_chunks(cb.id, bad, b"e"))
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles,
                        upload_chunks(cb.id, "neg", b"", declared=-1))
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles,
                        upload_chunks(cb.id, "short", b"abc", declared=4))
        self.assertCode(C.INVALID_ARGUMENT, s.UploadFiles,
                        upload_chunks(cb.id, "long", b"abcde", declared=4))
        self.assertCode(C.NOT_FOUND, s.UploadFiles, upload_chunks(missing, "x", b"1"))
        self.assertCode(C.NOT_FOUND, s.UploadFiles, upload_chunks("../other", "x", b"1"))
        self.assertCode(C.FAILED_PRECONDITION, s.UploadFiles, upload_chunks(cb.id, "d/f/g", b"1"))
        self.assertCode(C.FAILED_PRECONDITION, s.UploadFiles, upload_chunks(cb.id, "d", b"1"))
        self.assertCode(C.RESOURCE_EXHAUSTED, s.UploadFiles,
                        upload_chunks(cb.id, "huge", b"", declared=(1 << 30) + 1))
        got = s.GetCodebase(cb_pb.GetCodebaseRequest(codebase_id=cb.id))
        self.assertEqual(got.file_count, 1)
        # Reads.
        dl = cb_pb.DownloadFileRequest
        self.assertCode(C.NOT_FOUND, s.DownloadFile, dl(codebase_id=cb.id, file_path="nope"))
        self.assertCode(C.INVALID_ARGUMENT, s.DownloadFile, dl(codebase_id=cb.id, file_path="d"))
        self.assertCode(C.INVALID_ARGUMENT, s.DownloadFile,
                        dl(codebase_id=cb.id, file_path="../x"))
        self.assertCode(C.INVALID_ARGUMENT, s.DownloadFile, dl(codebase_id="", file_path="x"))
        lf = cb_pb.ListFilesRequest
        self.assertCode(C.NOT_FOUND, s.ListFiles, lf(codebase_id=cb.id, path="nope"))
        self.assertCode(C.INVALID_ARGUMENT, s.ListFiles, lf(codebase_id=cb.id, path="d/f"))
        self.assertCode(C.INVALID_ARGUMENT, s.ListFiles, lf(codebase_id=cb.id, path="../.."))
        self.assertCode(C.NOT_FOUND, s.ListFiles, lf(codebase_id=missing))

    def test_unimplemented(self):
        call = self.unix.unary_unary("/sandbox.v1.CodebaseService/NoSuchMethod",
                                     request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=lambda b: b)
        self.assertCode(C.UNIMPLEMENTED, call, cb_pb.GetCodebaseRequest())

    def test_second_uid_is_scoped(self):
        mine = self.s.CreateCodebase(cb_pb.CreateCodebaseRequest(name="root's"))
        self.s.UploadFiles(upload_chunks(mine.id, "secret", b"root only"))
        script = f"""
import sys, grpc
sys.path.insert(0, {os.path.abspath(os.environ.get("AF_PROTO_PYTHON_DIR", ""))!r})
import codebase_pb2 as pb, codebase_pb2_grpc as g
s = g.CodebaseServiceStub(grpc.insecure_channel("unix:{self.d.socket}"))
def code(f, *a):
    try:
        r = f(*a)
        list(r) if hasattr(r, "__next__") else None
        return "OK"
    except grpc.RpcError as e:
        return e.code().name
ids = [c.id for c in s.ListCodebases(pb.ListCodebasesRequest()).codebases]
print("list", {mine.id!r} in ids)
print("get", code(s.GetCodebase, pb.GetCodebaseRequest(codebase_id={mine.id!r})))
print("download", code(s.DownloadFile, pb.DownloadFileRequest(codebase_id={mine.id!r}, file_path="secret")))
print("files", code(s.ListFiles, pb.ListFilesRequest(codebase_id={mine.id!r})))
print("delete", code(s.DeleteCodebase, pb.DeleteCodebaseRequest(codebase_id={mine.id!r})))
own = s.CreateCodebase(pb.CreateCodebaseRequest(name="nobody's"))
print("own", code(s.GetCodebase, pb.GetCodebaseRequest(codebase_id=own.id)))
print("ownlist", [c.id for c in s.ListCodebases(pb.ListCodebasesRequest()).codebases] == [own.id])
print("ownid", own.id)
"""
        out = subprocess.run([sys.executable, "-c", script], user=65534, group=65534,
                             capture_output=True, text=True, timeout=60, cwd="/")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = dict(l.split(" ", 1) for l in out.stdout.splitlines())
        self.assertEqual(lines["list"], "False")
        for op in ("get", "download", "files", "delete"):
            self.assertEqual(lines[op], "PERMISSION_DENIED", op)
        self.assertEqual(lines["own"], "OK")
        self.assertEqual(lines["ownlist"], "True")
        # Root sees both; the file of root is untouched.
        ids = [c.id for c in self.s.ListCodebases(
            cb_pb.ListCodebasesRequest(page_size=1000)).codebases]
        self.assertIn(lines["ownid"], ids)
        self.assertIn(mine.id, ids)


class TokenTest(unittest.TestCase):
    def test_bearer_token_over_tcp(self):
        d = Daemon(["--auth-token=tok"])
        try:
            ch = grpc.insecure_channel(f"127.0.0.1:{d.port}")
            stub = cb_grpc.CodebaseServiceStub(ch)
            req = cb_pb.CreateCodebaseRequest(name="t")
            with self.assertRaises(grpc.RpcError) as cm:
                stub.CreateCodebase(req)
            self.assertEqual(cm.exception.code(), C.UNAUTHENTICATED)
            with self.assertRaises(grpc.RpcError) as cm:
                stub.CreateCodebase(req, metadata=[("authorization", "Bearer nope")])
            self.assertEqual(cm.exception.code(), C.UNAUTHENTICATED)
            cb = stub.CreateCodebase(req, metadata=[("authorization", "Bearer tok")])
            self.assertTrue(cb.id.startswith("cb_"))
            ch.close()
        finally:
            d.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: test_codebase_grpcio.py AFD_SERVER", file=sys.stderr)
        sys.exit(2)
    SERVER = sys.argv.pop(1)
    if os.geteuid() != 0:
        print("SKIP: needs root (the second-uid test switches users)")
        sys.exit(77)
    unittest.main(verbosity=2)
