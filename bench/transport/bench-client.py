#!/usr/bin/python3
"""Reference client for bench-transport: python3-grpcio against the same
server. usage: bench-client.py ENDPOINT CALLS STREAM_MIB SERVER_PID
Prints "phase rate p50_us p99_us client_cpu_us server_cpu_us" lines (CPU
per call, per MiB for the stream); checks every reply."""
import os
import sys
import time

import grpc

import transport_test_pb2 as pb
import transport_test_pb2_grpc as pb_grpc

TICK = os.sysconf("SC_CLK_TCK")


def server_cpu_us(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / TICK


class Meter:
    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        self.c0, self.s0, self.t0 = time.process_time(), server_cpu_us(self.pid), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.secs = time.perf_counter() - self.t0
        self.client = (time.process_time() - self.c0) * 1e6
        self.server = server_cpu_us(self.pid) - self.s0


def main():
    endpoint, calls, mib, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    channel = grpc.insecure_channel(endpoint)
    stub = pb_grpc.TestServiceStub(channel)
    for _ in range(200):
        assert stub.Echo(pb.TestRequest(text="warm")).text == "warm"

    lat = []
    with Meter(pid) as m:
        for _ in range(calls):
            t = time.perf_counter()
            assert stub.Echo(pb.TestRequest(text="ping")).text == "ping"
            lat.append(time.perf_counter() - t)
    lat.sort()
    print("seq", calls / m.secs, lat[len(lat) // 2] * 1e6, lat[len(lat) * 99 // 100] * 1e6,
          m.client / calls, m.server / calls)

    # 32 in flight: futures kept topped up.
    with Meter(pid) as m:
        pending = [stub.Echo.future(pb.TestRequest(text="f")) for _ in range(32)]
        done = 0
        while pending:
            f = pending.pop(0)
            assert f.result().text == "f"
            done += 1
            if done + len(pending) < calls:
                pending.append(stub.Echo.future(pb.TestRequest(text="f")))
    print("flight", done / m.secs, 0, 0, m.client / done, m.server / done)

    count, size = mib * 16, 64 * 1024
    n = total = 0
    with Meter(pid) as m:
        for msg in stub.Stream(pb.TestRequest(count=count, size=size)):
            n += 1
            total += len(msg.payload)
    assert n == count and total == count * size
    print("stream", total / 1e6 / m.secs, 0, 0, m.client / mib, m.server / mib)
    channel.close()


if __name__ == "__main__":
    main()
