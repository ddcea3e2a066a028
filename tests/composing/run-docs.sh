#!/bin/sh
# Runs the examples of docs/composing.md: every fenced block opened with
# "```sh test" is extracted, in order, into one script run by `sh -eu` in an
# empty directory, with the build tree's af-fuse, af-exec and af-policy first
# on PATH. Any failing command fails the test; so does a doc with fewer
# blocks than expected, or a mount the examples leave behind.
#
# argv: DOC BUILD_ROOT. Exit 77 when a facility is missing.
set -eu
doc=$1
build=$2

skip () { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the examples run as root (allow_other mounts, sandbox uids)"
[ -e /dev/fuse ] || skip "no /dev/fuse"
command -v bwrap >/dev/null || skip "no bwrap"
command -v fusermount3 >/dev/null || skip "no fusermount3"
for p in af-fuse/af-fuse af-exec/af-exec libafpolicy/tool/af-policy; do
  [ -x "$build/$p" ] || skip "$p not built"
done

tmp=$(mktemp -d /tmp/af-composing-XXXXXX)
chmod 755 "$tmp"
mounts () { awk -v p="$tmp/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; }
cleanup () {
  for m in $(mounts); do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir "$tmp/bin" "$tmp/work"
ln -s "$build/af-fuse/af-fuse" "$tmp/bin/af-fuse"
ln -s "$build/af-exec/af-exec" "$tmp/bin/af-exec"
ln -s "$build/libafpolicy/tool/af-policy" "$tmp/bin/af-policy"

awk '/^```sh test[[:space:]]*$/ { on = 1; n++; print "# --- block " n; next }
     /^```/ { on = 0; next }
     on { print }' "$doc" >"$tmp/examples.sh"
blocks=$(grep -c '^# --- block' "$tmp/examples.sh" || true)
[ "$blocks" -ge 5 ] || { echo "FAIL: only $blocks runnable blocks in $doc"; exit 1; }

status=0
(cd "$tmp/work" && PATH=$tmp/bin:$PATH sh -eux "$tmp/examples.sh") >"$tmp/out" 2>&1 || status=$?
if [ $status -ne 0 ]; then
  cat "$tmp/out"
  echo "FAIL: the examples of $doc stopped with status $status (last command above)"
  exit 1
fi
left=$(mounts)
[ -z "$left" ] || { echo "FAIL: the examples left mounts: $left"; exit 1; }
echo "$blocks blocks of $(basename "$doc") ran"
