#!/usr/bin/python3
"""The independent client of the transport tests: Debian's python3-grpcio
against the C server of libafcore, over one endpoint.

usage: interop-client.py ENDPOINT unix|tcp
Runs every scenario, asserting as it goes; exit 0 when all hold. The C test
(test-interop.c) that starts the server then checks what the handlers saw.
"""
import os
import sys

import grpc

import transport_test_pb2 as pb
import transport_test_pb2_grpc as pb_grpc

MIB = 1024 * 1024


def expect_error(fn, code, details=None):
    try:
        fn()
    except grpc.RpcError as e:
        assert e.code() == code, f"want {code}, got {e.code()}: {e.details()}"
        if details is not None:
            assert e.details() == details, f"want details {details!r}, got {e.details()!r}"
        return e
    raise AssertionError(f"no error, wanted {code}")


def main():
    endpoint, kind = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(endpoint, options=[
        ("grpc.max_send_message_length", 8 * MIB),
        ("grpc.max_receive_message_length", 8 * MIB)])
    stub = pb_grpc.TestServiceStub(channel)

    # Unary, metadata, peer identity.
    reply = stub.Echo(pb.TestRequest(text="hello", payload=b"\0\1\2"),
                      metadata=[("x-test", "py-token")], timeout=10)
    assert reply.text == "hello" and reply.payload == b"\0\1\2", reply
    assert reply.metadata == "py-token", reply
    assert reply.has_deadline
    if kind == "unix":
        assert (reply.uid, reply.gid, reply.pid) == (os.getuid(), os.getgid(), os.getpid()), reply
        assert reply.peer.startswith("unix:"), reply.peer
    else:
        assert reply.uid == -1 and reply.peer.startswith("ipv4:127.0.0.1:"), reply

    # Status code and details in plain words.
    for code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                 grpc.StatusCode.FAILED_PRECONDITION):
        expect_error(lambda: stub.Echo(pb.TestRequest(code=code.value[0], detail="why: " + code.name)),
                     code, "why: " + code.name)

    # Unknown method.
    nope = channel.unary_unary("/aftest.v1.TestService/Nope",
                               request_serializer=pb.TestRequest.SerializeToString,
                               response_deserializer=pb.TestReply.FromString)
    expect_error(lambda: nope(pb.TestRequest()), grpc.StatusCode.UNIMPLEMENTED)

    # No request message at all (half-close without a message).
    no_body = channel.stream_unary("/aftest.v1.TestService/Echo",
                                   request_serializer=pb.TestRequest.SerializeToString,
                                   response_deserializer=pb.TestReply.FromString)
    expect_error(lambda: no_body(iter(())), grpc.StatusCode.INVALID_ARGUMENT, "empty request body")

    # Oversize request (server limit 1 MiB).
    expect_error(lambda: stub.Echo(pb.TestRequest(payload=b"x" * (2 * MIB))),
                 grpc.StatusCode.RESOURCE_EXHAUSTED)

    # Strings with a NUL byte are refused, not truncated.
    expect_error(lambda: stub.Echo(pb.TestRequest(text="x\0y")),
                 grpc.StatusCode.INVALID_ARGUMENT, "field text contains a NUL byte")
    expect_error(lambda: stub.Echo(pb.TestRequest(labels={"k": "v\0"})),
                 grpc.StatusCode.INVALID_ARGUMENT, "field labels.value contains a NUL byte")
    expect_error(lambda: stub.Echo(pb.TestRequest(inner=pb.Inner(child=pb.Inner(name="\0")))),
                 grpc.StatusCode.INVALID_ARGUMENT, "field inner.child.name contains a NUL byte")
    assert stub.Echo(pb.TestRequest(text="x\u00ffy")).text == "x\u00ffy"

    # Server streaming.
    got = [m.index for m in stub.Stream(pb.TestRequest(count=300, size=5000))]
    assert got == list(range(300)), got[:10]
    assert list(stub.Stream(pb.TestRequest(count=0))) == []

    # Client streaming.
    reply = stub.Collect(iter([pb.TestRequest(payload=b"y" * 1000)] * 120))
    assert (reply.messages, reply.total) == (120, 120000), reply
    assert stub.Collect(iter(())).messages == 0
    expect_error(lambda: stub.Collect(iter([pb.TestRequest(text="ok"), pb.TestRequest(text="a\0")])),
                 grpc.StatusCode.INVALID_ARGUMENT, "field text contains a NUL byte")

    # Deadline: the handler hangs until told.
    expect_error(lambda: stub.Hang(pb.TestRequest(), timeout=0.2),
                 grpc.StatusCode.DEADLINE_EXCEEDED)

    # Cancel mid-stream: the C test then checks the producer saw it.
    stream = stub.Stream(pb.TestRequest(count=1000000, size=1000))
    for i, m in enumerate(stream):
        assert m.index == i
        if i == 4:
            break
    stream.cancel()
    channel.close()
    print("interop ok:", kind)


if __name__ == "__main__":
    main()
