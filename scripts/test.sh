#!/bin/sh
# The README's test command: installs what is missing, builds, runs the whole
# suite (plain build, then the ASan+UBSan build), and ends with one line
# "N passed, N failed, N skipped". Exits non-zero on any failure or if no
# test ran, or if a pass left a mount, a process or a temp dir behind
# (scripts/check-leftovers.py names each). Run as root on Debian 12 (the
# suite mounts FUSE filesystems and starts a Docker engine).
#
# Knobs: AF_TEST_SANITIZE=0 skips the ASan+UBSan pass;
#        AF_TEST_SUITES="unit integration" limits the plain pass to suites;
#        AF_TEST_PACKAGING=0 skips the packaging suite (builds and installs
#        the Debian packages once, in the plain pass).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

"$root/scripts/install-deps.sh" all || exit 1

# Services the suites need (started only if not running; stopped by nobody:
# CI machines are discarded after the run).
if [ "$(id -u)" -eq 0 ]; then
  "$root/scripts/start-dockerd.sh" || echo "test.sh: no Docker engine; the docker suite will skip"
fi

jobs=$(nproc 2>/dev/null || echo 2)
status=0
logs=""

run_pass () {
  name=$1; dir=$2; shift 2
  suites=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" || { status=1; return; }
  elif [ $# -gt 0 ]; then
    meson configure "$dir" "$@" >/dev/null || { status=1; return; }
  fi
  ninja -C "$dir" || { status=1; return; }
  set --
  for s in $suites; do set -- "$@" --suite "$s"; done
  echo "== $name: meson test $*"
  # The pass runs with a temp dir and a token of its own, so that what it
  # leaves behind — a mount under that dir, a process carrying the token
  # or naming the dir, a temp dir not removed — is found, named and fails
  # the run (scripts/check-leftovers.py), instead of piling up.
  suite_tmp=$(mktemp -d /tmp/afsXXXX) && chmod 755 "$suite_tmp" || { status=1; return; }
  token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  TMPDIR=$suite_tmp AF_TEST_RUN=$token \
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@" || status=1
  /usr/bin/python3 "$root/scripts/check-leftovers.py" "$suite_tmp" "$token" || status=1
  logs="$logs $dir/meson-logs/testlog.json"
}

if [ "${AF_TEST_PACKAGING:-1}" != 0 ]; then
  run_pass plain build "${AF_TEST_SUITES:-unit integration interop docker packaging rootless}" \
    -Dpackaging_tests=true
else
  run_pass plain build "${AF_TEST_SUITES:-unit integration interop docker rootless}"
fi
if [ "${AF_TEST_SANITIZE:-1}" != 0 ]; then
  # Sanitized pass: everything whose processes we build ourselves.
  run_pass asan build-asan "${AF_TEST_SANITIZE_SUITES:-unit integration interop}" \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
fi

/usr/bin/python3 "$root/scripts/count-results.py" $logs || status=1
exit $status
