#!/bin/bash
# bench-fuse.sh — af-fuse against the same work on the native source
# directory, measured in one run. Usage (as root):
#   bench/af-fuse/bench-fuse.sh [path/to/af-fuse] [workdir]
# Prints one markdown table row per measurement: native time, FUSE time and
# the ratio (FUSE/native for times; for throughputs the ratio is
# native_time/fuse_time, so higher is better). Every comparison checks that
# both sides produced the same result (bytes, counts) — a failing mount must
# not look fast. Warm measurements run REPS times (default 3), native and
# FUSE interleaved, and keep the fastest of each side: on a shared machine
# the minimum is the least disturbed run. The load average is printed before
# and after. AF_FUSE_ARGS adds af-fuse options (e.g. --no-passthrough to
# measure without the kernel's passthrough; as root it is on by default).
# FUSE_FLOOR names bench/af-fuse/fuse-floor (set by `ninja bench-af-fuse`):
# the same read-only work then also runs on that minimal FUSE mirror of the
# source, which answers every open from memory and decides nothing — the
# cost any FUSE filesystem asked at open pays on this machine — and each
# row adds its time and af-fuse's ratio to it.
set -euo pipefail

AF_FUSE=${1:-build/af-fuse/af-fuse}
WORK=${2:-$(mktemp -d /var/tmp/af-fuse-bench-XXXXXX)}
N_SMALL=${N_SMALL:-20000}
N_CREATE=${N_CREATE:-10000}
BIG_MB=${BIG_MB:-1024}
REPS=${REPS:-3}

[ "$(id -u)" -eq 0 ] || { echo "bench-fuse: run as root" >&2; exit 77; }
FLOOR_BIN=${FUSE_FLOOR:-}
SRC=$WORK/src MNT=$WORK/mnt DELTA=$WORK/delta NATIVE_OUT=$WORK/native-out FLOOR=$WORK/floor
mkdir -p "$SRC/small" "$MNT" "$NATIVE_OUT" "$FLOOR"
FUSE_PID= FLOOR_PID=
cleanup() {
  if [ -n "$FUSE_PID" ]; then kill "$FUSE_PID" 2>/dev/null || true; wait "$FUSE_PID" 2>/dev/null || true; fi
  if [ -n "$FLOOR_PID" ]; then kill "$FLOOR_PID" 2>/dev/null || true; wait "$FLOOR_PID" 2>/dev/null || true; fi
  fusermount3 -u -z "$MNT" 2>/dev/null || true
  fusermount3 -u -z "$FLOOR" 2>/dev/null || true
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

echo "preparing: $N_SMALL small files, a ${BIG_MB} MiB file" >&2
python3 - "$SRC/small" "$N_SMALL" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.c" % i), "w") as f:
        f.write(("int f%d (void) { return %d; } /* needle */\n" % (i, i)) * 20)
EOF
dd if=/dev/urandom of="$SRC/big" bs=1M count="$BIG_MB" status=none
# The same content once more at read level: a source file at write level
# stays in the page cache (a writer's copy-up must show through readers
# opened before it), a read-level one passes through to the source file.
mkdir -p "$SRC/ro" && cp "$SRC/big" "$SRC/ro/big"
cat > "$WORK/rules.json" <<'EOF'
[{"pattern": "/**", "permission": "write", "priority": 1},
 {"pattern": "/", "permission": "write", "priority": 1},
 {"pattern": "/ro/**", "permission": "read", "priority": 5},
 {"pattern": "**/*.secret", "permission": "none", "priority": 10}]
EOF

# Ready when af-fuse writes "ready" to fd 9 (a FIFO we read).
mkfifo "$WORK/ready"
"$AF_FUSE" --source "$SRC" --mountpoint "$MNT" --rules "$WORK/rules.json" --delta "$DELTA" \
  --foreground --ready-fd 9 ${AF_FUSE_ARGS:-} 9>"$WORK/ready" &
FUSE_PID=$!
read -r line < "$WORK/ready"
[ "$line" = "ready" ] || { echo "af-fuse did not start" >&2; exit 1; }
if [ -n "$FLOOR_BIN" ]; then
  "$FLOOR_BIN" "$SRC" "$FLOOR" &
  FLOOR_PID=$!
  for _ in $(seq 100); do mountpoint -q "$FLOOR" && break; sleep 0.05; done
  mountpoint -q "$FLOOR" || { echo "fuse-floor did not mount" >&2; exit 1; }
fi

now() { date +%s%N; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; }

# ratio KIND A_NS B_NS — B against A: times as B/A, throughputs as A/B.
ratio() {
  if [ "$1" = time ]; then
    awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f× time", b / a }'
  else
    awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f× throughput", a / b }'
  fi
}
secs() { awk -v x="$1" 'BEGIN { printf "%.3f s", x / 1e9 }'; }

# row NAME KIND NATIVE_NS FUSE_NS [FLOOR_NS] — KIND is "time" or "throughput"
row() {
  local name=$1 kind=$2 n=$3 f=$4 fl=${5:-}
  local floor_cols="— | —"
  [ -z "$fl" ] || floor_cols="$(secs "$fl") ($(ratio "$kind" "$n" "$fl") native) | $(ratio "$kind" "$fl" "$f")"
  printf '| %s | %s | %s | %s native | %s |\n' "$name" "$(secs "$n")" "$(secs "$f")" \
    "$(ratio "$kind" "$n" "$f")" "$floor_cols"
}

# measure NAME KIND CMD-WITH-@DIR@ [REPS] [floor] — runs it on the source,
# the mount (and with "floor" the floor mount), compares outputs.
measure() {
  local name=$1 kind=$2 cmd=$3 reps=${4:-$REPS} on_floor=${5:-} t0 t1 nat= fus= flo= d out_n out_f i
  [ -n "$FLOOR_BIN" ] || on_floor=
  for ((i = 0; i < reps; i++)); do
    t0=$(now); out_n=$(eval "${cmd//@DIR@/$SRC}"); t1=$(now); d=$((t1 - t0))
    [ -z "$nat" ] || [ "$d" -lt "$nat" ] && nat=$d
    t0=$(now); out_f=$(eval "${cmd//@DIR@/$MNT}"); t1=$(now); d=$((t1 - t0))
    [ -z "$fus" ] || [ "$d" -lt "$fus" ] && fus=$d
    if [ "$out_n" != "$out_f" ]; then
      echo "MISMATCH in $name: native '$out_n' vs fuse '$out_f'" >&2; exit 1
    fi
    if [ -n "$on_floor" ]; then
      t0=$(now); out_f=$(eval "${cmd//@DIR@/$FLOOR}"); t1=$(now); d=$((t1 - t0))
      [ -z "$flo" ] || [ "$d" -lt "$flo" ] && flo=$d
      if [ "$out_n" != "$out_f" ]; then
        echo "MISMATCH in $name: native '$out_n' vs floor '$out_f'" >&2; exit 1
      fi
    fi
  done
  row "$name ($out_n)" "$kind" "$nat" "$fus" "$flo"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| work (result checked on every side) | native | af-fuse | af-fuse ÷ native | FUSE floor | af-fuse ÷ floor |"
echo "|---|---|---|---|---|---|"
READ_BIG='dd if=@DIR@/big of=/dev/null bs=1M 2>&1 | awk "/bytes/ {print \$1}"'
if drop_caches; then
  measure "sequential read ${BIG_MB} MiB, cold" throughput "drop_caches; $READ_BIG" 1
fi
warm() { for d in "$SRC" "$MNT" ${FLOOR_BIN:+"$FLOOR"}; do eval "${1//@DIR@/$d}" >/dev/null; done; }
warm "$READ_BIG"
measure "sequential read ${BIG_MB} MiB, warm" throughput "$READ_BIG" "$REPS" floor
READ_RO='dd if=@DIR@/ro/big of=/dev/null bs=1M 2>&1 | awk "/bytes/ {print \$1}"'
warm "$READ_RO"
measure "sequential read ${BIG_MB} MiB at read level, warm" throughput "$READ_RO"
# Why warm reads differ: how much of each cached copy sits in large folios
# (FOLIO_COUNT names bench/af-fuse/folio-count, set by `ninja bench-af-fuse`).
FOLIOS=
if [ -n "${FOLIO_COUNT:-}" ]; then
  folios() { "$FOLIO_COUNT" "$1" 256 | awk '{ printf "%d of %d pages (%.0f%%)", $2, $1, $1 ? 100 * $2 / $1 : 0 }'; }
  FOLIOS="page cache in large folios, up to 256 MiB of the warm file: native $(folios "$SRC/big");"
  FOLIOS+=" af-fuse write level $(folios "$MNT/big"); af-fuse read level $(folios "$MNT/ro/big")"
  [ -z "$FLOOR_BIN" ] || FOLIOS+="; FUSE floor $(folios "$FLOOR/big")"
fi
CAT_ALL='find @DIR@/small -type f -print0 | sort -z | xargs -0 cat | wc -c'
warm "$CAT_ALL"
measure "cat $N_SMALL small files, warm" time "$CAT_ALL" 1 floor
GREP='grep -rc needle @DIR@/small | awk -F: "{s += \$NF} END {print s}"'
warm "$GREP"
measure "grep -r over them, warm" time "$GREP" "$REPS" floor
measure "find -name over them, warm" time 'find @DIR@/small -name "*.c" | wc -l' "$REPS" floor
measure "ls -lR over them, warm" time 'ls -lR @DIR@/small | grep -c "^-"' "$REPS" floor

# Writes: the mount's delta against a native directory on the same disk.
create_files() {
  python3 - "$1" "$N_CREATE" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
for i in range(n):
    with open(os.path.join(root, "n%05d" % i), "w") as f:
        f.write("x" * 512)
print(sum(os.path.getsize(os.path.join(root, e)) for e in os.listdir(root)))
EOF
}
# Each round creates into a new directory on both sides (native first),
# the fastest round of each side counts, as for the warm rows.
nat= fus=
for ((i = 0; i < REPS; i++)); do
  t0=$(now); cn=$(create_files "$NATIVE_OUT/created$i"); t1=$(now); d=$((t1 - t0))
  [ -z "$nat" ] || [ "$d" -lt "$nat" ] && nat=$d
  t0=$(now); cf=$(create_files "$MNT/created$i"); t1=$(now); d=$((t1 - t0))
  [ -z "$fus" ] || [ "$d" -lt "$fus" ] && fus=$d
  [ "$cn" = "$cf" ] || { echo "MISMATCH in create: $cn vs $cf" >&2; exit 1; }
done
row "create+write $N_CREATE small files ($cn bytes)" time "$nat" "$fus"
WRITE_BIG() { dd if=/dev/zero of="$1" bs=1M count="$BIG_MB" conv=fdatasync 2>&1 | awk '/bytes/ {print $1}'; }
t0=$(now); wn=$(WRITE_BIG "$NATIVE_OUT/bigw"); t1=$(now); nat=$((t1 - t0))
t0=$(now); wf=$(WRITE_BIG "$MNT/bigw"); t1=$(now); fus=$((t1 - t0))
[ "$wn" = "$wf" ] || { echo "MISMATCH in write: $wn vs $wf" >&2; exit 1; }
row "sequential write ${BIG_MB} MiB + fdatasync ($wn bytes)" throughput "$nat" "$fus"
[ -z "$FOLIOS" ] || echo "$FOLIOS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
