#!/bin/sh
# The install layout (docs/packaging.md): `meson install --destdir` of this
# build tree, then checks of the tree, the generated config, the installed
# server (started from the tree, finding the installed helpers), socket
# activation through systemd-socket-activate (unix and TCP), and
# `systemd-analyze verify` of the units.
#
# argv: BUILD_DIR SOURCE_DIR. Exit 77 when a facility is missing.
set -eu
build=$1
src=$2

fail () { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d /tmp/af-install-XXXXXX)
pids=""
cleanup () {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

dest=$tmp/dest
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; }

prefix=$(meson introspect "$build" --buildoptions |
  /usr/bin/python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"]); print(o["libdir"]); print(o["sysconfdir"]); print(o["systemdsystemunitdir"] or ""); print(o["systemduserunitdir"] or "")')
set -- $prefix
prefix=$1; libdir=$2; sysconfdir=$3
case $sysconfdir in /*) ;; *) sysconfdir=$prefix/$sysconfdir ;; esac
sysunits=${4:-$prefix/lib/systemd/system}
userunits=$prefix/lib/systemd/user
[ "${5:-}" ] && [ "${5:-}" != "$sysunits" ] && userunits=$5
root=$dest$prefix
lib=$root/$libdir

# Every path of the table in docs/packaging.md.
for f in bin/agentfense bin/af-policy \
    libexec/agentfense/afd-server libexec/agentfense/af-fuse libexec/agentfense/af-exec \
    libexec/agentfense/af-exec-init; do
  [ -x "$root/$f" ] || fail "$f missing or not executable"
done
ls "$lib"/libagentfense.so.1 >/dev/null 2>&1 || fail "libagentfense.so.1 missing in $libdir"
[ -L "$lib/libagentfense.so" ] || fail "libagentfense.so (dev symlink) missing"
[ -f "$root/include/agentfense-1/agentfense/agentfense.h" ] || fail "headers missing"
[ -f "$lib/pkgconfig/agentfense-1.pc" ] || fail "agentfense-1.pc missing"
for m in man1/agentfense.1 man1/af-policy.1 man1/af-fuse.1 man1/af-exec.1 man8/afd-server.8; do
  [ -f "$root/share/man/$m" ] || fail "man page $m missing"
  if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$root/share/man/$m" >/dev/null 2>"$tmp/man.err" || fail "man $m"
    [ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err"; fail "man $m warns"; }
  fi
done
for x in org.agentfense.Fuse1.xml org.agentfense.Exec1.xml; do
  [ -f "$root/share/dbus-1/interfaces/$x" ] || fail "D-Bus interface $x missing"
done
for c in agentfense af-policy; do
  [ -f "$root/share/bash-completion/completions/$c" ] || fail "bash completion of $c missing"
  bash -n "$root/share/bash-completion/completions/$c" || fail "bash completion of $c does not parse"
done
# The completion offers af-policy's commands.
out=$(bash -c '. "$1"; COMP_WORDS=(af-policy ex); COMP_CWORD=1; _af_policy; echo "${COMPREPLY[*]}"' \
  _ "$root/share/bash-completion/completions/af-policy")
[ "$out" = explain ] || fail "af-policy completion of 'ex' gave '$out'"
[ -f "$root/share/doc/agentfense/packaging.md" ] || fail "docs missing"
[ -f "$root/lib/sysusers.d/agentfense.conf" ] || fail "sysusers.d entry missing"
for u in "$sysunits/afd-server.service" "$sysunits/afd-server.socket" \
    "$userunits/afd-server.service" "$userunits/afd-server.socket"; do
  [ -f "$dest$u" ] || fail "unit $u missing"
done
grep -q "^ExecStart=$prefix/libexec/agentfense/afd-server\$" "$dest$sysunits/afd-server.service" ||
  fail "system unit does not start the installed server"
conf=$dest$sysconfdir/agentfense/afd.conf
[ -f "$conf" ] || fail "afd.conf missing"

# pkg-config sees the library as a user of the installed tree would.
PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
  pkg-config --cflags --libs agentfense-1 >"$tmp/pc" || fail "pkg-config agentfense-1"
grep -q "agentfense-1" "$tmp/pc" || fail "pkg-config cflags lack include/agentfense-1"

# afd.conf has every key of the schema, commented out (the built server's
# schema is the reference), and nothing active.
server=$root/libexec/agentfense/afd-server
"$server" --help-all | sed -n 's/^ *--\([a-z0-9-]*\)=.*/\1/p' | tr - _ | sort -u >"$tmp/flags"
n=0
while read -r key; do
  case $key in config|ready_fd|set) continue ;; esac
  if grep -q "^#$key=" "$conf"; then n=$((n + 1)); fi
done <"$tmp/flags"
[ "$n" -ge 10 ] || fail "afd.conf: only $n keys found"
"$server" --print-default-config | diff - "$conf" >/dev/null || fail "afd.conf differs from the schema"
grep -v '^#' "$conf" | grep -v '^\[' | grep -q '=' && fail "afd.conf has an active key"
echo "afd.conf: $n keys, all commented"

export LD_LIBRARY_PATH=$lib
cli=$root/bin/agentfense
"$cli" --version >/dev/null || fail "installed agentfense does not run"

# The installed server, with the installed config, serving on a socket of
# ours; its helpers are the installed ones (found beside it).
state=$tmp/state
exec 3>"$tmp/ready"
"$server" --config "$conf" --state-dir "$state" --socket "$tmp/afd.sock" --listen none \
  --ready-fd 3 2>"$tmp/server.log" &
spid=$!
pids="$pids $spid"
exec 3>&-
i=0
until grep -q READY "$tmp/ready" 2>/dev/null; do
  kill -0 "$spid" 2>/dev/null || { cat "$tmp/server.log"; fail "installed server exited"; }
  i=$((i + 1)); [ $i -lt 300 ] || fail "installed server not ready"
  sleep 0.1
done
"$cli" --endpoint "unix:$tmp/afd.sock" codebase create install-check >/dev/null ||
  fail "CLI cannot create a codebase on the installed server"
"$cli" --endpoint "unix:$tmp/afd.sock" codebase ls | grep -q install-check ||
  fail "codebase not listed"
kill "$spid"; wait "$spid" || fail "installed server did not exit cleanly"
pids=""
echo "installed server: started, served, stopped"

# Socket activation: systemd binds, the server serves what it is given and
# binds nothing itself.
if command -v systemd-socket-activate >/dev/null; then
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  systemd-socket-activate -l "$tmp/act.sock" -l "127.0.0.1:$port" \
    "$server" --config "$conf" --state-dir "$tmp/state2" --socket "$tmp/own.sock" \
    --listen 127.0.0.1:1 2>"$tmp/act.log" &
  apid=$!
  pids="$pids $apid"
  i=0
  until [ -S "$tmp/act.sock" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "systemd-socket-activate did not bind"
    sleep 0.1
  done
  "$cli" --endpoint "unix:$tmp/act.sock" codebase create over-unix >/dev/null ||
    { cat "$tmp/act.log"; fail "activated unix socket does not serve"; }
  "$cli" --endpoint "127.0.0.1:$port" codebase create over-tcp >/dev/null ||
    { cat "$tmp/act.log"; fail "activated TCP socket does not serve"; }
  [ ! -e "$tmp/own.sock" ] || fail "an activated server bound its configured socket too"
  grep -q "activated" "$tmp/act.log" || { cat "$tmp/act.log"; fail "server did not say it was activated"; }
  kill "$apid"; wait "$apid" || fail "activated server did not exit cleanly"
  pids=""
  [ -S "$tmp/act.sock" ] || true
  echo "socket activation: unix and TCP served"
else
  echo "SKIP part: systemd-socket-activate not installed"
fi

# The units as systemd reads them (ExecStart pointed at the installed tree).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/units"
  for u in afd-server.service afd-server.socket; do
    sed "s|$prefix/libexec|$root/libexec|" "$dest$sysunits/$u" >"$tmp/units/$u"
  done
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/units/afd-server.socket" \
    "$tmp/units/afd-server.service" >"$tmp/verify.log" 2>&1
  # Offline, systemd-analyze also reports on units it cannot load here
  # (sockets.target, the missing group); only our units' lines count.
  if grep "afd-server" "$tmp/verify.log" | grep -v "agentfense.*group\|Failed to resolve group"; then
    fail "systemd-analyze verify"
  fi
  mkdir -p "$tmp/user-units" "$tmp/xdg"
  chmod 700 "$tmp/xdg"
  for u in afd-server.service afd-server.socket; do
    sed "s|$prefix/libexec|$root/libexec|" "$dest$userunits/$u" >"$tmp/user-units/$u"
  done
  XDG_RUNTIME_DIR=$tmp/xdg SYSTEMD_LOG_LEVEL=warning systemd-analyze --user verify --man=no \
    "$tmp/user-units/afd-server.socket" "$tmp/user-units/afd-server.service" \
    >"$tmp/verify-user.log" 2>&1 || { cat "$tmp/verify-user.log"; fail "systemd-analyze --user verify"; }
  if grep "afd-server" "$tmp/verify-user.log"; then fail "systemd-analyze --user verify"; fi
  echo "systemd-analyze verify: system and user units clean"
fi
echo "install tree: OK"
