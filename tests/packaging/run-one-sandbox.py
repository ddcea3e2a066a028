#!/usr/bin/python3
"""One sandbox over an existing codebase through sandbox.v1 (python3-grpcio,
an independent client): create with rules, start, exec (a read, a denied
read, a write), stop, destroy. argv: SOCKET CODEBASE_ID. Exit 77 without
grpcio or the generated stubs (AF_PROTO_PYTHON_DIR)."""
import os
import sys

try:
    import grpc
    sys.path.insert(0, os.environ.get("AF_PROTO_PYTHON_DIR", ""))
    import common_pb2 as P
    import sandbox_pb2 as sb_pb
    import sandbox_pb2_grpc as sb_grpc
except ImportError as e:
    print(f"SKIP: grpcio or generated stubs unavailable: {e}")
    sys.exit(77)


def rule(pattern, perm, prio=0, kind=P.PATTERN_TYPE_GLOB):
    return P.PermissionRule(pattern=pattern, type=kind, permission=perm, priority=prio)


def main():
    sock, cb_id = sys.argv[1], sys.argv[2]
    ch = grpc.insecure_channel(f"unix:{sock}")
    s = sb_grpc.SandboxServiceStub(ch)
    sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb_id, permissions=[
        rule("**", P.PERMISSION_READ),
        rule("/src", P.PERMISSION_NONE, 10, P.PATTERN_TYPE_DIRECTORY),
        rule("/out.txt", P.PERMISSION_WRITE, 10, P.PATTERN_TYPE_FILE),
    ]))
    try:
        sb = s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id), timeout=60)
        assert sb.status == P.SANDBOX_STATUS_RUNNING, sb.error
        r = s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id, command="cat /workspace/README.md"))
        assert (r.exit_code, r.stdout) == (0, "hello from the codebase\n"), r
        r = s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id, command="ls /workspace/src"))
        assert r.exit_code != 0 and "No such file" in r.stderr, r
        r = s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id,
                                     command="echo written in the sandbox > /workspace/out.txt"))
        assert r.exit_code == 0, r
        r = s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id, command="id -u"))
        assert r.exit_code == 0 and r.stdout.strip() != "0", r
        print(f"sandbox {sb.id}: read ok, none hidden, write ok, uid {r.stdout.strip()}")
        st = s.StopSandbox(sb_pb.StopSandboxRequest(sandbox_id=sb.id))
        assert st.status == P.SANDBOX_STATUS_STOPPED, st
    finally:
        s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb.id))
        ch.close()


if __name__ == "__main__":
    main()
