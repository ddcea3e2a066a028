#!/bin/sh
# Fails (exit 1) when a C file of ours differs from what clang-format makes of
# it; with --fix, rewrites them. Generated code lives in the build dir only.
set -eu
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
root=${1:-$(dirname "$0")/..}
cd "$root"
cf=$(command -v clang-format || true)
if [ -z "$cf" ]; then
  echo "check-format: clang-format not installed" >&2
  exit 77
fi
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
# One clang-format process for all files: the check stays fast on a busy
# machine.
# shellcheck disable=SC2086
if [ $fix -eq 1 ]; then
  "$cf" -i $files
  exit 0
fi
report=$(mktemp)
trap 'rm -f "$report"' EXIT
if ! "$cf" --dry-run --Werror $files 2>"$report"; then
  grep -E '^[^ :]+:[0-9]+:[0-9]+: ' "$report" | cut -d: -f1 | sort -u | sed 's/^/not formatted: /'
  echo "check-format: run 'ninja -C build format' (or scripts/check-format.sh --fix)" >&2
  exit 1
fi
exit 0
