#!/bin/sh
# make-test-image.sh IMAGE — import the docker suite's image into the engine
# the docker CLI talks to (DOCKER_HOST, else the default socket): a root
# filesystem of Debian's busybox-static, its applets as links, /workspace,
# a tmp and a home. Nothing is pulled. Exits 77 when busybox-static is
# missing, non-zero (with the CLI's message) when the import fails.
set -eu
image=$1
[ -x /bin/busybox ] || { echo "busybox-static is not installed (needed for $image)" >&2; exit 77; }
root=$(mktemp -d "${TMPDIR:-/tmp}/af-test-image-XXXXXX")
trap 'rm -rf "$root"' EXIT
cd "$root"
mkdir -p bin etc tmp workspace home/sandbox
cp /bin/busybox bin/
for a in $(bin/busybox --list); do
  [ -e "bin/$a" ] || ln -s busybox "bin/$a"
done
echo 'root:x:0:0::/:/bin/sh' > etc/passwd
tar -cf - . | docker import - "$image" >/dev/null
