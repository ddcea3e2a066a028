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
bad=0
for f in $files; do
  [ -f "$f" ] || continue
  if [ $fix -eq 1 ]; then
    "$cf" -i "$f"
  elif ! "$cf" "$f" | cmp -s - "$f"; then
    echo "not formatted: $f"
    bad=1
  fi
done
if [ $bad -ne 0 ]; then
  echo "check-format: run 'ninja -C build format' (or scripts/check-format.sh --fix)" >&2
fi
exit $bad
