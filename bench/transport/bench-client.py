#!/usr/bin/python3
"""Reference client for bench-transport: python3-grpcio against the same
server. usage: bench-client.py ENDPOINT CALLS STREAM_MIB
Prints "key value" lines; checks every reply."""
import sys
import time
from concurrent import futures

import grpc

import transport_test_pb2 as pb
import transport_test_pb2_grpc as pb_grpc


def main():
    endpoint, calls, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    channel = grpc.insecure_channel(endpoint)
    stub = pb_grpc.TestServiceStub(channel)
    for _ in range(200):
        assert stub.Echo(pb.TestRequest(text="warm")).text == "warm"

    lat = []
    start = time.perf_counter()
    for _ in range(calls):
        t = time.perf_counter()
        assert stub.Echo(pb.TestRequest(text="ping")).text == "ping"
        lat.append(time.perf_counter() - t)
    secs = time.perf_counter() - start
    lat.sort()
    print("seq_calls_per_s", calls / secs)
    print("seq_p50_us", int(lat[len(lat) // 2] * 1e6))
    print("seq_p99_us", int(lat[len(lat) * 99 // 100] * 1e6))

    # 32 in flight: futures kept topped up.
    start = time.perf_counter()
    pending = [stub.Echo.future(pb.TestRequest(text="f")) for _ in range(32)]
    done = 0
    while pending:
        f = pending.pop(0)
        assert f.result().text == "f"
        done += 1
        if done + len(pending) < calls:
            pending.append(stub.Echo.future(pb.TestRequest(text="f")))
    print("flight_calls_per_s", done / (time.perf_counter() - start))

    count, size = mib * 16, 64 * 1024
    start = time.perf_counter()
    n = total = 0
    for m in stub.Stream(pb.TestRequest(count=count, size=size)):
        n += 1
        total += len(m.payload)
    assert n == count and total == count * size
    print("stream_mb_per_s", total / 1e6 / (time.perf_counter() - start))
    channel.close()


if __name__ == "__main__":
    main()
