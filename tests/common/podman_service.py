#!/usr/bin/python3
"""podman_service.py -- COMMAND [ARG...]: run COMMAND against a private
Podman service, the Docker-compatible API the Docker runtime also speaks.

The service is Debian's `podman system service` with its storage in a temp
dir of its own, started under af-test-guard and handed an already listening
socket (systemd socket activation: LISTEN_FDS), so COMMAND can connect at
once. COMMAND runs with DOCKER_HOST naming that socket; the docker CLI the
tests use for inspection speaks to the same service. Afterwards the service
is stopped, its storage mount undone and the dir removed.

Exit status: COMMAND's; 77 (skip) when podman is not installed; 1 when the
run left a process or mount behind.

Owns: the service it starts, its temp dir. Must never: touch the host's
default Podman storage or signal a process it did not start.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import af_test_guard  # noqa: E402

SKIP = 77


def containers_conf(path):
    """Podman gives a rootful container open-file and process limits of
    1,048,576 unless told otherwise; where root lacks CAP_SYS_RESOURCE (this
    kind of VM), runc cannot raise the limits that far and no container
    starts. Ask for limits this process already has."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with open(path, "w") as f:
        f.write("[containers]\n")
        f.write(f'default_ulimits = ["nofile={soft}:{hard}", "nproc=4096:4096"]\n')


def unmount_under(top):
    """Undo the mounts the service left under @top (its storage driver
    bind-mounts its own dir), deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    points = [p.encode().decode("unicode_escape") for p in points]
    for p in sorted((p for p in points if p == top or p.startswith(top + "/")),
                    key=len, reverse=True):
        subprocess.run(["umount", p], check=False)


def processes_naming(top, but):
    """Pids of processes whose command line names @top, except @but."""
    found = []
    needle = top.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in but:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def wait_for_containers_gone(top, ours, timeout):
    """A container removed on exit (AutoRemove) is removed after its
    process ends: its conmon runs `podman container cleanup --rm`. Wait
    (on pidfds, bounded) until no such process of this service is left, so
    that stopping the service cuts nothing short; what is still there after
    @timeout is left to the guard, which names it and fails the run.
    @ours: pids that are not the service's children."""
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_naming(top, ours)
        left = deadline - time.monotonic()
        if not pids or left <= 0:
            return
        fds = []
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except OSError:
                pass
        try:
            if fds:
                select.select(fds, [], [], left)
        finally:
            for fd in fds:
                os.close(fd)


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        print("usage: podman_service.py -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    podman = shutil.which("podman")
    if podman is None:
        print("SKIP: podman is not installed (apt-get install podman)")
        return SKIP
    top = os.path.realpath(tempfile.mkdtemp(prefix="af-podman-"))
    os.chmod(top, 0o755)
    conf = os.path.join(top, "containers.conf")
    containers_conf(conf)
    sock_path = os.path.join(top, "api.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(128)

    # Its temp files too (an imported image passes through TMPDIR as
    # api_load.tar*, which the service does not always remove).
    service_tmp = os.path.join(top, "tmp")
    os.mkdir(service_tmp)
    env = dict(os.environ, CONTAINERS_CONF=conf, LISTEN_FDS="1", TMPDIR=service_tmp)
    env.pop("DOCKER_HOST", None)
    guard = af_test_guard.Guard(top, env=env)
    status = 1
    service = None
    try:
        podman_args = [podman, "--root", os.path.join(top, "root"),
                       "--runroot", os.path.join(top, "run")]
        with open(os.path.join(top, "service.log"), "w") as log:
            # LISTEN_PID must be the service's own pid: the shell's, which
            # exec keeps. Its working dir is ours: conmon leaves files there
            # (an `oom` marker when a container's memory limit is hit).
            service = guard.spawn(
                ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; cd "$1" && shift && exec "$@"',
                 "sh", top, *podman_args, "system", "service", "--time=0"],
                stdout=log, stderr=log, pass_fds=(listener.fileno(),))
        listener.close()
        child_env = dict(os.environ, DOCKER_HOST="unix://" + sock_path)
        status = subprocess.run(argv[2:], env=child_env).returncode
        if status < 0:
            status = 128 - status
    finally:
        if service is not None:
            # Not the service, the guard or this process: they name the dir too.
            wait_for_containers_gone(top, {service.pid, guard.proc.pid, os.getpid()}, 60)
            service.terminate()
            try:
                service.wait(timeout=60)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        unmount_under(top)
        if status != 0:
            with open(os.path.join(top, "service.log"), errors="replace") as f:
                sys.stderr.write("podman service log (tail):\n" + f.read()[-4000:])
        if guard.close() != 0:
            print("podman_service.py: the run left something behind (named above)",
                  file=sys.stderr)
            status = status or 1
    return status


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv))
