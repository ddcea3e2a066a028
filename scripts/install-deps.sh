#!/bin/sh
# Installs the Debian 12 packages AgentFense needs to build, test and run.
# Idempotent: installs only what is missing; runs `apt-get update` only when
# something has to be installed. Usage: scripts/install-deps.sh [build|test|all]
set -eu

what=${1:-all}

build_pkgs="meson ninja-build pkg-config gcc clang libglib2.0-dev libglib2.0-dev-bin
  libjson-glib-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libgrpc-dev libfuse3-dev fuse3 libseccomp-dev libsqlite3-dev libsystemd-dev libssl-dev
  musl-tools"
run_pkgs="bubblewrap fuse3 sqlite3 iproute2"
test_pkgs="python3 python3-grpcio python3-protobuf protobuf-compiler-grpc
  valgrind clang-format libclang-rt-14-dev busybox-static docker.io podman nix-bin
  psmisc procps debhelper lintian man-db gobject-introspection libgirepository1.0-dev
  python3-gi"

case "$what" in
  build) pkgs="$build_pkgs $run_pkgs" ;;
  test|all) pkgs="$build_pkgs $run_pkgs $test_pkgs" ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
