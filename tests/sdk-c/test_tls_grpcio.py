#!/usr/bin/python3
"""python3-grpcio as an independent client of a real afd-server: TLS on the
TCP listener (grpc.secure_channel with ssl_channel_credentials), mutual TLS,
and the exit status streamed commands end with in their trailing metadata
(agentfense-exit-code, …; docs/api.md).

argv: afd-server make-test-certs.sh [af-fuse af-exec]
The trailer tests need sandboxes (root, /dev/fuse, bwrap, the helpers) and
are skipped otherwise. Exit 77 (skip) when grpcio, the stubs or openssl are
missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ.get("AF_TEST_COMMON_DIR")
                or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import af_test_guard  # noqa: E402

try:
    import grpc
    sys.path.insert(0, os.environ.get("AF_PROTO_PYTHON_DIR", ""))
    import codebase_pb2 as cb_pb
    import codebase_pb2_grpc as cb_grpc
    import common_pb2 as common_pb
    import sandbox_pb2 as sb_pb
    import sandbox_pb2_grpc as sb_grpc
except ImportError as e:  # pragma: no cover
    print(f"SKIP: grpcio or generated stubs unavailable: {e}")
    sys.exit(77)

SERVER, CERTS = sys.argv[1], sys.argv[2]
FUSE = sys.argv[3] if len(sys.argv) > 4 else None
EXEC = sys.argv[4] if len(sys.argv) > 4 else None
C = grpc.StatusCode
PKI = None


def sandbox_skip_reason():
    if FUSE is None:
        return "af-fuse is not part of this build"
    return af_test_guard.sandbox_skip_reason()


def read(name):
    with open(os.path.join(PKI, name), "rb") as f:
        return f.read()


class Daemon:
    """afd-server on a temp state dir, its unix socket and 127.0.0.1:0."""

    def __init__(self, *extra, sandboxes=False):
        self.top = tempfile.mkdtemp(prefix="afd-tls-")
        os.chmod(self.top, 0o755)
        conf = os.path.join(self.top, "afd.conf")
        open(conf, "w").close()
        self.socket = os.path.join(self.top, "afd.sock")
        args = [SERVER, f"--state-dir={self.top}/state", f"--socket={self.socket}",
                "--listen=127.0.0.1:0", f"--config={conf}", *extra]
        if sandboxes:
            args += [f"--fuse-helper={FUSE}", f"--exec-helper={EXEC}"]
        r, w = os.pipe()
        self.log = open(os.path.join(self.top, "server.log"), "w")
        self.proc = subprocess.Popen(args + [f"--ready-fd={w}"], pass_fds=(w,),
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        line = af_test_guard.wait_ready(self.proc, r, w, self.log.name)
        self.endpoint = "127.0.0.1:" + line.split("tcp_port=")[1].strip()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.top, ignore_errors=True)


def tls_args(client_ca=False):
    args = [f"--tls-cert={PKI}/server.pem", f"--tls-key={PKI}/server.key"]
    if client_ca:
        args.append(f"--tls-client-ca={PKI}/ca.pem")
    return args


def round_trip(channel):
    """Unary, client streaming and server streaming CodebaseService calls."""
    cb = cb_grpc.CodebaseServiceStub(channel)
    base = cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="tls", owner_id="py"), timeout=30)

    def chunks():
        yield cb_pb.UploadChunk(metadata=cb_pb.UploadChunk.Metadata(
            codebase_id=base.id, file_path="a.txt", total_size=6))
        yield cb_pb.UploadChunk(data=b"sealed")
    cb.UploadFiles(chunks(), timeout=30)
    data = b"".join(c.data for c in cb.DownloadFile(
        cb_pb.DownloadFileRequest(codebase_id=base.id, file_path="a.txt"), timeout=30))
    assert data == b"sealed", data
    cb.DeleteCodebase(cb_pb.DeleteCodebaseRequest(codebase_id=base.id), timeout=30)


class Tls(unittest.TestCase):
    def expect_unavailable(self, channel):
        with self.assertRaises(grpc.RpcError) as cm:
            round_trip(channel)
        self.assertEqual(cm.exception.code(), C.UNAVAILABLE, cm.exception.details())

    def test_server_auth(self):
        d = Daemon(*tls_args())
        self.addCleanup(d.close)
        creds = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
        with grpc.secure_channel(d.endpoint, creds) as ch:
            round_trip(ch)
        # A client that trusts another CA, and a plaintext client.
        other = grpc.ssl_channel_credentials(root_certificates=read("other-ca.pem"))
        with grpc.secure_channel(d.endpoint, other) as ch:
            self.expect_unavailable(ch)
        with grpc.insecure_channel(d.endpoint) as ch:
            self.expect_unavailable(ch)
        # The unix socket stays plain.
        with grpc.insecure_channel(f"unix:{d.socket}") as ch:
            round_trip(ch)

    def test_mutual(self):
        d = Daemon(*tls_args(client_ca=True))
        self.addCleanup(d.close)
        anonymous = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
        with grpc.secure_channel(d.endpoint, anonymous) as ch:
            self.expect_unavailable(ch)
        stranger = grpc.ssl_channel_credentials(
            root_certificates=read("ca.pem"), private_key=read("other-client.key"),
            certificate_chain=read("other-client.pem"))
        with grpc.secure_channel(d.endpoint, stranger) as ch:
            self.expect_unavailable(ch)
        known = grpc.ssl_channel_credentials(
            root_certificates=read("ca.pem"), private_key=read("client.key"),
            certificate_chain=read("client.pem"))
        with grpc.secure_channel(d.endpoint, known) as ch:
            round_trip(ch)


@unittest.skipIf(sandbox_skip_reason() is not None, str(sandbox_skip_reason()))
class Trailers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(*tls_args(), sandboxes=True)
        creds = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
        cls.tls = grpc.secure_channel(cls.d.endpoint, creds)
        cls.local = grpc.insecure_channel(f"unix:{cls.d.socket}")
        cb = cb_grpc.CodebaseServiceStub(cls.local)
        cls.sb = sb_grpc.SandboxServiceStub(cls.local)
        base = cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="t", owner_id="py"))
        rules = [common_pb.PermissionRule(pattern="**", type=common_pb.PATTERN_TYPE_GLOB,
                                          permission=common_pb.PERMISSION_WRITE)]
        sandbox = cls.sb.CreateSandbox(sb_pb.CreateSandboxRequest(
            codebase_id=base.id, permissions=rules))
        cls.sandbox_id = cls.sb.StartSandbox(
            sb_pb.StartSandboxRequest(sandbox_id=sandbox.id)).id

    @classmethod
    def tearDownClass(cls):
        cls.sb.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=cls.sandbox_id))
        cls.tls.close()
        cls.local.close()
        cls.d.close()

    def stream(self, channel, command):
        call = sb_grpc.SandboxServiceStub(channel).ExecStream(
            sb_pb.ExecRequest(sandbox_id=self.sandbox_id, command=command), timeout=60)
        out = b"".join(m.data for m in call)
        return out, dict(call.trailing_metadata())

    def test_exit_codes(self):
        for channel in (self.local, self.tls):
            for command, code, sig in (("echo hi", 0, None), ("echo no; exit 3", 3, None),
                                       ("echo bye; kill -KILL $$", 137, "9")):
                out, trailers = self.stream(channel, command)
                self.assertTrue(out.startswith(command.split()[1].rstrip(";").encode()), out)
                self.assertEqual(trailers.get("agentfense-exit-code"), str(code), trailers)
                self.assertEqual(trailers.get("agentfense-signal"), sig, trailers)
                self.assertGreater(int(trailers["agentfense-duration-us"]), 0)
                self.assertEqual(trailers.get("agentfense-truncated"), "none", trailers)

    def test_session_stream(self):
        session = self.sb.CreateSession(sb_pb.CreateSessionRequest(sandbox_id=self.sandbox_id))
        try:
            call = self.sb.SessionExecStream(
                sb_pb.SessionExecRequest(session_id=session.id, command="(exit 4)"), timeout=60)
            self.assertEqual(list(call), [])
            self.assertEqual(dict(call.trailing_metadata()).get("agentfense-exit-code"), "4")
        finally:
            self.sb.DestroySession(sb_pb.DestroySessionRequest(session_id=session.id))

    def test_unary_exec_unchanged(self):
        # The unary call keeps its ExecResult and sends no such trailer.
        call = self.sb.Exec.with_call(
            sb_pb.ExecRequest(sandbox_id=self.sandbox_id, command="exit 5"), timeout=60)
        result, rpc = call
        self.assertEqual(result.exit_code, 5)
        self.assertNotIn("agentfense-exit-code", dict(rpc.trailing_metadata()))


def main():
    global PKI
    PKI = tempfile.mkdtemp(prefix="af-pki-")
    try:
        rc = subprocess.run(["/bin/sh", CERTS, PKI]).returncode
        if rc == 77:
            print("SKIP: openssl is missing")
            return 77
        if rc != 0:
            return 1
        ok = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result.wasSuccessful()
        return 0 if ok else 1
    finally:
        shutil.rmtree(PKI, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
