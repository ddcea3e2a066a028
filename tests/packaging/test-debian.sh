#!/bin/sh
# The Debian packages (debian/, docs/packaging.md): build them from a copy of
# the source tree with dpkg-buildpackage, lintian (no error allowed), install
# them into this machine, start the installed server without systemd, run
# one sandbox through the installed CLI, then purge everything it installed.
#
# argv: SOURCE_DIR. Needs root. Exit 77 when a facility is missing or
# agentfense packages are already installed (never clobber them).
set -eu
src=$1

skip () { echo "SKIP: $*"; exit 77; }
fail () { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i)"
for t in dpkg-buildpackage dh lintian; do
  command -v "$t" >/dev/null || skip "$t missing (scripts/install-deps.sh all installs it)"
done
# A run killed outright (SIGKILL on a timeout) cannot clean up; its marker
# says what it installed, and this run removes that first. Packages
# installed by anything else are never touched.
marker=/var/tmp/agentfense-packaging-test.installed
if [ -f "$marker" ]; then
  echo "removing what a killed run left: $(cat "$marker")"
  dpkg --purge agentfense-cli agentfense-server libagentfense-dev libagentfense1 >/dev/null 2>&1 || true
  if grep -q "created-user" "$marker" && getent passwd agentfense >/dev/null; then
    deluser --system --quiet agentfense >/dev/null 2>&1 || userdel agentfense || true
    getent group agentfense >/dev/null && groupdel agentfense 2>/dev/null || true
  fi
  rm -f "$marker"
fi
for p in libagentfense1 libagentfense-dev agentfense-server agentfense-cli; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    skip "$p is already installed on this machine"
  fi
done
[ -e /dev/fuse ] || skip "no /dev/fuse"
command -v bwrap >/dev/null || skip "no bwrap"

tmp=$(mktemp -d /tmp/af-deb-XXXXXX)
chmod 755 "$tmp"
# lintian and the dpkg tools leave scratch files in TMPDIR: keep them
# inside our own dir, which the cleanup removes.
mkdir "$tmp/scratch"
export TMPDIR="$tmp/scratch"
spid=""
installed=""
had_user=no
getent passwd agentfense >/dev/null && had_user=yes
cleanup () {
  if [ -n "$spid" ]; then
    kill "$spid" 2>/dev/null || true
    while kill -0 "$spid" 2>/dev/null; do sleep 0.1; done
  fi
  if [ -n "$installed" ]; then
    if dpkg --purge $installed >"$tmp/purge.log" 2>&1; then
      installed=""
    else
      cat "$tmp/purge.log" >&2
    fi
  fi
  if [ "$had_user" = no ] && getent passwd agentfense >/dev/null; then
    deluser --system --quiet agentfense >/dev/null 2>&1 || userdel agentfense || true
    getent group agentfense >/dev/null && groupdel agentfense 2>/dev/null || true
  fi
  [ -n "$installed" ] || rm -f "$marker"
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A copy of the source (tracked and new files, no build dirs): the build
# writes debian/ state and ../*.deb beside the tree.
mkdir "$tmp/agentfense"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && xargs -0 tar cf - --no-recursion) | tar xf - -C "$tmp/agentfense"
else
  tar cf - -C "$src" --exclude='./build*' . | tar xf - -C "$tmp/agentfense"
fi
rm -rf "$tmp/agentfense/build"*

start=$(date +%s)
(cd "$tmp/agentfense" &&
  DEB_BUILD_OPTIONS="nocheck noopt noautodbgsym parallel=$(nproc)" \
    dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1 ||
  { tail -n 60 "$tmp/build.log"; fail "dpkg-buildpackage"; }
echo "dpkg-buildpackage: $(($(date +%s) - start)) s"

for p in libagentfense1 libagentfense-dev agentfense-server agentfense-cli; do
  ls "$tmp/${p}_"*.deb >/dev/null 2>&1 || fail "package $p not built"
done
changes=$(ls "$tmp"/agentfense_*.changes)

# lintian: no error. Warnings are printed for the log.
lintian --fail-on error --suppress-tags bad-distribution-in-changes-file "$changes" \
  >"$tmp/lintian.log" 2>&1 || { cat "$tmp/lintian.log"; fail "lintian reports errors"; }
cat "$tmp/lintian.log"

# What goes where.
dpkg -c "$tmp"/agentfense-server_*.deb >"$tmp/server.list"
for f in ./usr/libexec/agentfense/afd-server ./usr/libexec/agentfense/af-fuse \
    ./usr/libexec/agentfense/af-exec ./lib/systemd/system/afd-server.socket \
    ./etc/agentfense/afd.conf ./usr/lib/systemd/user/afd-server.service; do
  grep -q " $f\$" "$tmp/server.list" || fail "agentfense-server lacks $f"
done
dpkg -c "$tmp"/agentfense-cli_*.deb >"$tmp/cli.list"
grep -q " ./usr/bin/agentfense\$" "$tmp/cli.list" || fail "agentfense-cli lacks agentfense"
dpkg -c "$tmp"/libagentfense-dev_*.deb >"$tmp/dev.list"
grep -q "agentfense-1.pc\$" "$tmp/dev.list" || fail "dev package lacks the .pc"

installed="agentfense-cli agentfense-server libagentfense-dev libagentfense1"
echo "$installed $( [ "$had_user" = no ] && echo created-user)" >"$marker"
dpkg -i "$tmp"/libagentfense1_*.deb "$tmp"/libagentfense-dev_*.deb \
  "$tmp"/agentfense-server_*.deb "$tmp"/agentfense-cli_*.deb >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "dpkg -i"; }
dpkg -L agentfense-server agentfense-cli libagentfense1 libagentfense-dev |
  sort -u >"$tmp/files"
getent passwd agentfense >/dev/null || fail "postinst did not create the user agentfense"
getent group agentfense >/dev/null || fail "postinst did not create the group agentfense"
dpkg-query -W -f='${Conffiles}\n' agentfense-server | grep -q /etc/agentfense/afd.conf ||
  fail "afd.conf is not a conffile"
pkg-config --exists agentfense-1 || fail "pkg-config agentfense-1 after install"

# The installed server, as systemd would start it, but by hand: the system
# config, the helpers beside it; state and socket of our own.
exec 3>"$tmp/ready"
/usr/libexec/agentfense/afd-server --state-dir "$tmp/state" --socket "$tmp/afd.sock" \
  --listen none --ready-fd 3 2>"$tmp/server.log" &
spid=$!
exec 3>&-
i=0
until grep -q READY "$tmp/ready" 2>/dev/null; do
  kill -0 "$spid" 2>/dev/null || { cat "$tmp/server.log"; fail "installed server exited"; }
  i=$((i + 1)); [ $i -lt 300 ] || fail "installed server not ready"
  sleep 0.1
done

ep="unix:$tmp/afd.sock"
mkdir -p "$tmp/project/src"
echo 'hello from the codebase' >"$tmp/project/README.md"
echo 'int main(void) { return 0; }' >"$tmp/project/src/main.c"
cb=$(agentfense --endpoint "$ep" --json codebase create demo |
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or d["codebase"]["id"])') ||
  fail "agentfense codebase create"
agentfense --endpoint "$ep" codebase upload "$cb" "$tmp/project" >/dev/null ||
  fail "agentfense codebase upload"

# One sandbox through the installed CLI: a read, a hidden directory, a
# write that reaches the codebase, an unprivileged uid; then stop and rm.
cat >"$tmp/rules.json" <<'JSON'
[{"pattern": "**", "permission": "read", "priority": 5},
 {"pattern": "/src", "type": "directory", "permission": "none", "priority": 10},
 {"pattern": "/out.txt", "type": "file", "permission": "write", "priority": 10}]
JSON
af () { agentfense --endpoint "$ep" "$@"; }
sb=$(af --json sandbox create --start --rules "$tmp/rules.json" "$cb" |
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"]) if d["status"] == "running" else sys.exit(d)') ||
  { cat "$tmp/server.log"; fail "agentfense sandbox create --start"; }
[ "$(af sandbox exec "$sb" -- cat /workspace/README.md)" = "hello from the codebase" ] ||
  fail "a read file is not readable in the sandbox"
if af sandbox exec "$sb" -- ls /workspace/src >/dev/null 2>"$tmp/ls.err" ||
  ! grep -q "No such file" "$tmp/ls.err"; then
  fail "a none directory is visible in the sandbox: $(cat "$tmp/ls.err")"
fi
af sandbox exec "$sb" -- 'echo written in the sandbox > /workspace/out.txt' ||
  fail "a write path is not writable in the sandbox"
uid=$(af sandbox exec "$sb" -- id -u) || fail "agentfense sandbox exec id -u"
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "the sandbox runs as uid '$uid'"
af sandbox stop "$sb" >/dev/null || fail "agentfense sandbox stop"
af sandbox rm "$sb" >/dev/null || fail "agentfense sandbox rm"
echo "sandbox $sb through the CLI: read ok, none hidden, write ok, uid $uid"
agentfense --endpoint "$ep" codebase download "$cb" out.txt >"$tmp/out.txt" ||
  fail "agentfense codebase download"
grep -q "written in the sandbox" "$tmp/out.txt" || fail "the sandbox's write did not reach the codebase"

kill "$spid"; wait "$spid" || { cat "$tmp/server.log"; fail "installed server did not exit cleanly"; }
spid=""
grep -q " $tmp/state/mounts" /proc/self/mountinfo && fail "a mount outlived the server"

dpkg --purge $installed >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "dpkg --purge"; }
installed=""
left=""
while read -r f; do
  # Files and links the packages shipped (directories such as /lib, a
  # link on merged-/usr systems, are shared and stay).
  if [ -d "$f" ]; then continue; fi
  if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done <"$tmp/files"
[ -z "$left" ] || fail "files left after purge:$left"
[ ! -e /etc/agentfense/afd.conf ] || fail "afd.conf left after purge"
echo "debian: built, lintian clean of errors, installed, ran a sandbox, purged"
