#!/usr/bin/python3
"""Sandboxes end to end, measured through python3-grpcio on the unix socket:
create+start latency, exec round trip of `true` (against a bare
`bwrap ... true` with the same isolation flags, measured in the same run,
interleaved), memory of our processes per running sandbox, and N sandboxes
running at once, each answering an exec.

usage: bench-sandbox.py AFD_SERVER AF_FUSE AF_EXEC [--rounds N] [--starts N]
                        [--many N] [--cycles N] [--ref-build DIR] [--breakdown]
                        [--starts-only]
--cycles N: N create+start+exec+destroy cycles one after another (a start
hang shows as a start slower than 5 s or one that fails).
--ref-build DIR: a second server from another build dir (afd-server/,
af-fuse/, af-exec/ below it) runs beside the first; create+start alternates
between the two and the ratio of their p50s is reported (an A/B in the same
minutes).
--breakdown: servers at debug level; from each start's log line, the p50
of the mount ready, af-exec connected and af-exec ready times after the
spawn, and which start path was taken.
--starts-only: create+start only (with --ref-build, the A/B).
(root, /dev/fuse, bwrap; AF_PROTO_PYTHON_DIR set to the generated stubs).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "tests", "afd-server"),
                os.path.join(HERE, "..", "..", "tests", "common")]
# The test's daemon runs under the built af-test-guard (tests/common); the
# build dir is the one AFD_SERVER (the first argument) was built in.
if len(sys.argv) > 1 and "AF_TEST_GUARD" not in os.environ:
    os.environ["AF_TEST_GUARD"] = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1]))),
        "tests", "common", "af-test-guard")
import test_sandbox_grpcio as t  # noqa: E402  (the test's daemon and helpers)

sb_pb, cb_pb, P = t.sb_pb, t.cb_pb, t.P


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """Proportional set size: shared library pages divided among users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ms(pid):
    """CPU time of @pid itself and of its reaped children (af-fuse, af-exec
    and, through af-exec, bwrap and the init), in ms: unlike wall time this
    barely moves with the load of other processes."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) * 1000 / tick
    kids = (int(fields[13]) + int(fields[14])) * 1000 / tick
    return own, kids


STARTED = re.compile(r"started(?: \(([^)]*)\))?: mount ready after ([\d.]+) ms, af-exec "
                     r"connected after ([\d.]+) ms and ready after ([\d.]+) ms")


def breakdown(d, label):
    """p50s of the start phases, from the server's debug log."""
    rows = STARTED.findall(d.read_log())
    if not rows:
        print(f"  {label}: no start lines in the log (not at debug level?)")
        return
    paths = sorted({r[0] or "isolation built after the mount" for r in rows})
    col = [[float(r[i]) for r in rows] for i in (1, 2, 3)]
    print(f"  {label}: after the spawn, p50: mount ready {pct(col[0], 50):.1f} ms, af-exec "
          f"connected {pct(col[1], 50):.1f} ms, af-exec ready {pct(col[2], 50):.1f} ms "
          f"({len(rows)} starts; {'; '.join(paths)})")


def create_start(s, cb_id, rules, out, ids):
    t0 = time.perf_counter()
    sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb_id, permissions=rules))
    ids.append(sb.id)
    try:
        s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id))
    except t.grpc.RpcError as e:
        print("start failed:", e.details())
        return False
    out.append((time.perf_counter() - t0) * 1000)
    return True


def ab_starts(a, d, s, cb_id, rules, level):
    """create+start alternating between this build's server and the
    reference build's; both idle between their starts."""
    ref = os.path.abspath(a.ref_build)
    saved = (t.SERVER, t.FUSE, t.EXEC)
    t.SERVER, t.FUSE, t.EXEC = (os.path.join(ref, "afd-server", "afd-server"),
                                os.path.join(ref, "af-fuse", "af-fuse"),
                                os.path.join(ref, "af-exec", "af-exec"))
    r = t.Daemon(extra=("--max-running-per-owner=100000", f"--log-level={level}"))
    t.SERVER, t.FUSE, t.EXEC = saved
    try:
        rcb = r.cb.CreateCodebase(cb_pb.CreateCodebaseRequest(name="bench"))
        t.upload(r.cb, rcb.id, "a", b"1")
        mine, theirs, ids, rids = [], [], [], []
        own = [0.0, 0.0]
        for i in range(2 * a.starts):
            ours = i % 2 == (i // 2) % 2  # ABBA order: neither side always goes first
            pid = d.proc.pid if ours else r.proc.pid
            c0, _ = cpu_ms(pid)
            if ours:
                create_start(s, cb_id, rules, mine, ids)
            else:
                create_start(r.sb, rcb.id, rules, theirs, rids)
            c1, _ = cpu_ms(pid)
            own[0 if ours else 1] += c1 - c0
        print(f"A/B create+start, {a.starts} each, alternating (load average "
              f"{os.getloadavg()[0]:.1f}):")
        print(f"  this build: p50 {pct(mine, 50):.1f} ms  p99 {pct(mine, 99):.1f} ms; "
              f"afd-server CPU {own[0] / a.starts:.1f} ms each")
        print(f"  reference {a.ref_build}: p50 {pct(theirs, 50):.1f} ms  p99 "
              f"{pct(theirs, 99):.1f} ms; afd-server CPU {own[1] / a.starts:.1f} ms each")
        print(f"  ratio this ÷ reference, p50: {pct(mine, 50) / pct(theirs, 50):.2f}")
        if a.breakdown:
            breakdown(d, "this build")
            breakdown(r, "reference")
        for i in ids:
            s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=i))
        for i in rids:
            r.sb.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=i))
    finally:
        r.stop()
        t.wait_gone(lambda: t.mounts_under(r.top))
        r.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("fuse")
    ap.add_argument("exec_")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--many", type=int, default=200)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--ref-build")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--starts-only", action="store_true")
    a = ap.parse_args()
    t.SERVER, t.FUSE, t.EXEC = a.server, a.fuse, a.exec_
    reason = t.skip_reason()
    if reason:
        print("SKIP:", reason)
        return 77
    level = "debug" if a.breakdown else "warning"
    d = t.Daemon(extra=("--max-running-per-owner=100000", f"--log-level={level}"))
    try:
        s, c = d.sb, d.cb
        cb = c.CreateCodebase(cb_pb.CreateCodebaseRequest(name="bench"))
        t.upload(c, cb.id, "a", b"1")
        rules = [t.rule("**", P.PERMISSION_WRITE)]

        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        if a.ref_build:
            ab_starts(a, d, s, cb.id, rules, level)
            if a.starts_only:
                return 0
        # Create + start.
        starts, ids, failed = [], [], 0
        own0, _ = cpu_ms(d.proc.pid)
        for _ in range(a.starts):
            failed += not create_start(s, cb.id, rules, starts, ids)
        own1, _ = cpu_ms(d.proc.pid)
        print(f"create+start: p50 {pct(starts, 50):.1f} ms  p99 {pct(starts, 99):.1f} ms "
              f"({len(starts)} sandboxes, {failed} failed to start; afd-server CPU "
              f"{(own1 - own0) / a.starts:.1f} ms each)")
        if a.breakdown:
            breakdown(d, "this build")
        if a.starts_only:
            return 0

        # Memory per running sandbox: our processes (af-fuse, af-exec and
        # the sandbox's bwrap + init) while idle.
        procs = [p for p, _ in t.procs_mentioning(d.top) if p != d.proc.pid]
        kids = set(procs)
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    if ppid in kids:
                        kids.add(int(pid))
                except (OSError, ValueError, IndexError):
                    pass
        rss = sum(rss_kib(p) for p in kids) / len(ids)
        pss = sum(pss_kib(p) for p in kids) / len(ids)
        print(f"memory per running sandbox: RSS {rss / 1024:.2f} MiB, PSS {pss / 1024:.2f} MiB "
              f"({len(kids)} processes for {len(ids)} sandboxes)")

        # Exec round trip vs a bare bwrap, interleaved.
        target = next(i for i in ids if s.GetSandbox(
            sb_pb.GetSandboxRequest(sandbox_id=i)).status == P.SANDBOX_STATUS_RUNNING)
        bw = ["bwrap", "--unshare-all", "--new-session", "--die-with-parent", "--as-pid-1",
              "--cap-drop", "ALL", "--clearenv", "--ro-bind", "/usr", "/usr",
              "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
              "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
              "--tmpfs", "/tmp", "--", "/usr/bin/true"]
        req = sb_pb.ExecRequest(sandbox_id=target, command="true")
        for _ in range(10):
            s.Exec(req)
        ex, bare = [], []
        own0, _ = cpu_ms(d.proc.pid)
        for i in range(a.rounds):
            t0 = time.perf_counter()
            s.Exec(req)
            ex.append((time.perf_counter() - t0) * 1000)
            if i % 4 == 0:
                t0 = time.perf_counter()
                subprocess.run(bw, check=True)
                bare.append((time.perf_counter() - t0) * 1000)
        own1, _ = cpu_ms(d.proc.pid)
        print(f"exec true via gRPC: p50 {pct(ex, 50):.2f} ms  p99 {pct(ex, 99):.2f} ms; "
              f"bare bwrap true: p50 {pct(bare, 50):.2f} ms  p99 {pct(bare, 99):.2f} ms; "
              f"ratio p50 {pct(ex, 50) / pct(bare, 50):.2f}")
        # The part of each exec spent inside the sandbox (spawn to exit, as
        # af-exec measured it and the history recorded it).
        events, token = [], ""
        while True:
            r = s.ListEvents(sb_pb.ListEventsRequest(sandbox_id=target, page_token=token,
                                                     page_size=1000))
            events += r.events
            token = r.next_page_token
            if not token:
                break
        inside = [float(e.detail.split("duration_ms=")[1].split()[0]) for e in events
                  if e.action == "sandbox.exec"][-len(ex):]
        print(f"  of which inside the sandbox (spawn to exit): p50 {pct(inside, 50):.2f} ms; "
              f"server + D-Bus + gRPC: p50 {pct(ex, 50) - pct(inside, 50):.2f} ms "
              f"(load average {os.getloadavg()[0]:.1f}); afd-server CPU per exec "
              f"{(own1 - own0) / a.rounds:.2f} ms")

        # Cycles: create, start, exec, destroy, one after another.
        cyc, hangs, cfail = [], 0, 0
        own0, kids0 = cpu_ms(d.proc.pid)
        for _ in range(a.cycles):
            t0 = time.perf_counter()
            try:
                sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb.id,
                                                                permissions=rules))
                s.StartSandbox(sb_pb.StartSandboxRequest(sandbox_id=sb.id), timeout=60)
                took = time.perf_counter() - t0
                hangs += took > 5
                r = s.Exec(sb_pb.ExecRequest(sandbox_id=sb.id, command="cat /workspace/a"))
                if r.stdout != "1":
                    cfail += 1
                    print(f"cycle exec: exit {r.exit_code}, stdout {r.stdout!r}, "
                          f"stderr {r.stderr!r}")
                s.DestroySandbox(sb_pb.DestroySandboxRequest(sandbox_id=sb.id))
            except t.grpc.RpcError as e:
                cfail += 1
                print("cycle failed:", e.code(), e.details())
                continue
            cyc.append((time.perf_counter() - t0) * 1000)
        own1, kids1 = cpu_ms(d.proc.pid)
        if cyc:
            print(f"  CPU per cycle: afd-server {(own1 - own0) / a.cycles:.1f} ms, its helpers "
                  f"(af-fuse, af-exec, bwrap, init, the command) {(kids1 - kids0) / a.cycles:.1f} ms")
            print(f"{a.cycles} create+start+exec+destroy cycles: {len(cyc)} completed, "
                  f"{cfail} failed, {hangs} starts over 5 s; cycle p50 {pct(cyc, 50):.1f} ms, "
                  f"max {max(cyc):.1f} ms (load average {os.getloadavg()[0]:.1f})")

        # Many at once.
        more = a.many - len(ids)
        t0 = time.perf_counter()
        futs = []
        for _ in range(max(0, more)):
            sb = s.CreateSandbox(sb_pb.CreateSandboxRequest(codebase_id=cb.id, permissions=rules))
            ids.append(sb.id)
            futs.append(s.StartSandbox.future(sb_pb.StartSandboxRequest(sandbox_id=sb.id),
                                              timeout=600))
        ok = 0
        for f in futs:
            try:
                ok += f.result().status == P.SANDBOX_STATUS_RUNNING
            except t.grpc.RpcError:
                pass
        started = time.perf_counter() - t0
        futs = [s.Exec.future(sb_pb.ExecRequest(sandbox_id=i, command="cat /workspace/a"),
                              timeout=600) for i in ids]
        answered = 0
        for f in futs:
            try:
                answered += f.result().stdout == "1"
            except t.grpc.RpcError:
                pass
        print(f"{len(ids)} sandboxes created ({ok + len(starts)} started, "
              f"{started:.1f} s for the extra {more}); {answered} answered an exec")
        # Memory with all of them running: our processes only.
        kids = {p for p, _ in t.procs_mentioning(d.top) if p != d.proc.pid}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    if ppid in kids:
                        kids.add(int(pid))
                except (OSError, ValueError, IndexError):
                    pass
        pss = sum(pss_kib(p) for p in kids) / max(1, ok + len(starts))
        print(f"  memory per running sandbox with {ok + len(starts)} running: PSS "
              f"{pss / 1024:.2f} MiB; afd-server PSS {pss_kib(d.proc.pid) / 1024:.1f} MiB "
              f"(load average {os.getloadavg()[0]:.1f})")
        futs = [s.DestroySandbox.future(sb_pb.DestroySandboxRequest(sandbox_id=i), timeout=600)
                for i in ids]
        for f in futs:
            f.result()
    finally:
        d.stop()
        left = t.wait_gone(lambda: t.mounts_under(d.top))
        shutil.rmtree(d.top, ignore_errors=True)
        if left:
            print("mounts left behind:", left)
    return 0


if __name__ == "__main__":
    sys.exit(main())
