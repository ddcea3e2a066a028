#!/usr/bin/python3
"""After a test pass: did the suite leave anything behind?

`check-leftovers.py DIR TOKEN` — DIR is the temp dir the pass ran with
(TMPDIR), TOKEN the value of AF_TEST_RUN in the pass's environment. Fails
(exit 1), naming each, when any of these remains:

  - a mount at or under DIR (/proc/self/mountinfo);
  - a process started by the suite: one whose environment holds
    AF_TEST_RUN=TOKEN, or whose command line, working directory or
    executable lies under DIR;
  - anything inside DIR (a temp dir a test did not remove).

Then it cleans up what it reported — processes killed by pid, mounts
detached, DIR removed — so the next run starts clean; it never does so
silently, and never touches anything outside DIR or not of the suite.
"""
import os
import shutil
import signal
import subprocess
import sys
import time


def mounts_under(top):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mp = fields[4].encode().decode("unicode_escape")
            if mp == top or mp.startswith(top + "/"):
                rest = line.split(" - ", 1)[1].split()
                out.append((mp, rest[0]))
    return out


def procs_of_suite(top, token):
    mark = f"AF_TEST_RUN={token}".encode()
    me = {os.getpid(), os.getppid()}
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in me:
            continue
        pid = int(p)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            why = None
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if mark in f.read().split(b"\0"):
                        why = "started by the suite"
            except OSError:
                pass
            for link in ("cwd", "exe"):
                try:
                    target = os.readlink(f"/proc/{pid}/{link}")
                    if target == top or target.startswith(top + "/"):
                        why = why or f"{link} in the suite's temp dir"
                except OSError:
                    pass
            if why is None and top in cmd:
                why = "names the suite's temp dir"
            if why is not None:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
                found.append((pid, comm, cmd, why))
        except OSError:
            continue  # gone meanwhile
    return found


def main():
    if len(sys.argv) != 3:
        print("usage: check-leftovers.py DIR TOKEN", file=sys.stderr)
        return 2
    top, token = os.path.realpath(sys.argv[1]), sys.argv[2]
    problems = []
    procs = procs_of_suite(top, token)
    for pid, comm, cmd, why in procs:
        problems.append(f"process {pid} ({comm}, {why}): {cmd}")
    mounts = mounts_under(top)
    for mp, fstype in mounts:
        problems.append(f"{fstype} mount {mp}")
    entries = sorted(os.listdir(top)) if os.path.isdir(top) else []
    for e in entries:
        problems.append(f"temp entry {os.path.join(top, e)}")
    if not problems:
        shutil.rmtree(top, ignore_errors=True)
        print(f"check-leftovers: nothing left behind")
        return 0
    print(f"check-leftovers: the suite left {len(problems)} thing(s) behind:")
    for p in problems:
        print(f"  LEFT BEHIND: {p}")
    # Clean what was reported: processes by pid, then mounts, then the dir.
    for pid, *_ in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 10
    while procs and time.monotonic() < end and any(os.path.exists(f"/proc/{p}") for p, *_ in procs):
        time.sleep(0.05)
    for mp, _ in sorted(mounts, key=lambda m: -len(m[0])):
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        else:
            subprocess.run(["fusermount3", "-u", "-z", mp], stderr=subprocess.DEVNULL)
    if not mounts_under(top):
        subprocess.run(["rm", "-rf", "--one-file-system", top])
    return 1


if __name__ == "__main__":
    sys.exit(main())
