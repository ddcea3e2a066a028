#!/bin/bash
# The man page renders without warnings and the bash completion completes
# commands, subcommands, options and preset names (TAP).
# usage: test-shell-docs.sh MAN_PAGE COMPLETION AGENTFENSE
set -u
man_page=$1 completion=$2 agentfense=$3
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

echo "1..11"
if ! command -v groff >/dev/null; then
  n=$((n + 1)); echo "ok $n # SKIP groff is not installed"
elif out=$(groff -man -ww -z "$man_page" 2>&1) && [ -z "$out" ]; then
  ok "man page renders without warnings"
else
  not_ok "man page renders without warnings" "$out"
fi

# Run completion in a clean bash with the tool on PATH (for preset names).
complete_words() {
  PATH="$(dirname "$agentfense"):$PATH" bash --norc -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _agentfense
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$completion" "$@"
}
check() {
  local want=$1; shift
  local got; got=$(complete_words "$@")
  if [ "$got" = "$want" ]; then ok "complete '$*'"; else not_ok "complete '$*'" "got '$got'" "want '$want'"; fi
}
check "--ca-file --cert --endpoint --help --json --key --secure --version codebase policy presets run sandbox shell " agentfense ""
check "explain " agentfense --ca-file /x --secure policy ""
check "changes commit create discard exec info ls rm start stop " agentfense sandbox ""
check "--manual-commit " agentfense run --man
check "bwrap docker " agentfense run --runtime ""
check " " agentfense run --preset agent-safe . -- --m
check "create download files ls rm upload " agentfense --json codebase ""
check "agent-safe " agentfense presets show ag
check "--max-file-size " agentfense codebase upload --max
check "explain " agentfense --endpoint unix:/x policy ""
exit $failed
