#!/usr/bin/env bash
# ddsetup per call: how long one `ddsetup` invocation takes, as a script that calls it in a loop
# sees it, against the same request sent by the C example examples/c/ddtest.c (one ddlink
# item, plain syscalls: the floor any client can reach). Goal: median <= 20 ms per call.
#   Boots the appliance from the distribution in a temp home (no NBD, no console), creates a
#   linear device and a multipath map over sparse files, then runs CALLS calls each of
#     ls | status NAME | info NAME | message MAP 0 queue_if_no_path
#   alternating bin/ddsetup and ddtest call by call, and prints per verb the median, 90th
#   percentile and max wall time of each (measured in bash around each exec, the same for both)
#   and the ratio of the medians; then 5 calls of the Java client (bin/ddsetup-java) for scale.
#
# Usage: bench/ddsetup.sh [CALLS]     (default 100; needs runtime/target/ddmapper and cc)
# Run it on a quiet machine (1-minute load below 1). KEEP=1 keeps the temp dir (and the log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CALLS=${1:-100}
DIST=$ROOT/runtime/target/ddmapper
[ -x "$DIST/bin/ddsetup" ] || { echo "bench: build the distribution first (mvn -q -DskipTests package)" >&2; exit 1; }
WORK=$(mktemp -d)
APP=
cleanup() {
  [ -n "$APP" ] && kill "$APP" 2>/dev/null && wait "$APP" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] && echo "bench: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

cc -O2 -Wall -o "$WORK/ddtest" "$ROOT/examples/c/ddtest.c"
mkdir -p "$WORK/home"
"$DIST/bin/ddmapper" --home "$WORK/home" --nbd none --http none --no-console > "$WORK/ddmapper.log" 2>&1 &
APP=$!
for _ in $(seq 600); do grep -q '^ddmapper ready' "$WORK/ddmapper.log" && break; sleep 0.1; done
grep -q '^ddmapper ready' "$WORK/ddmapper.log" || { cat "$WORK/ddmapper.log" >&2; exit 1; }
SOCK=$WORK/home/run/control.sock
DD=("$DIST/bin/ddsetup" --socket "$SOCK")
truncate -s 64M "$WORK/a.img" "$WORK/b.img"
"${DD[@]}" create bench --table "0 131072 linear $WORK/a.img 0"
"${DD[@]}" create benchmp --table "0 131072 multipath 0 0 1 1 round-robin 0 2 1 $WORK/a.img 1 $WORK/b.img 1"

# one call's wall time in microseconds, from bash's own clock (no process spawned to read it)
micros() {
  local t0=$EPOCHREALTIME
  "$@" > /dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) ))
}

# median, 90th percentile and max of the numbers on stdin, in ms with two decimals
stats() {
  sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    p = v[int(NR * 0.9 + 0.999)]
    printf "%7.2f %7.2f %7.2f", m / 1000, p / 1000, v[NR] / 1000 }'
}

printf '%-34s %-26s %-26s %s\n' "$CALLS calls each" "ddsetup ms (median p90 max)" "ddtest ms (median p90 max)" "median ratio"
bench_verb() {
  local label=$1; shift
  local -a ours=("$@")
  local -a theirs
  case ${ours[0]} in
    ls) theirs=(ls) ;;
    status|info) theirs=("${ours[@]}") ;;
    message) theirs=(message "${ours[1]}" "${ours[2]}" "${ours[*]:3}") ;;
  esac
  : > "$WORK/a"; : > "$WORK/b"
  for _ in $(seq "$CALLS"); do
    micros "${DD[@]}" "${ours[@]}" >> "$WORK/a"
    micros "$WORK/ddtest" "$SOCK" "${theirs[@]}" >> "$WORK/b"
  done
  local a b
  a=$(stats < "$WORK/a")
  b=$(stats < "$WORK/b")
  printf '%-34s %-26s %-26s %.2f\n' "$label" "$a" "$b" "$(echo "$a $b" | awk '{ print $1 / $4 }')"
}
bench_verb "ls" ls
bench_verb "status NAME" status bench
bench_verb "info NAME" info bench
bench_verb "message MAP 0 queue_if_no_path" message benchmp 0 queue_if_no_path

: > "$WORK/j"
for _ in 1 2 3 4 5; do micros "$DIST/bin/ddsetup-java" --socket "$SOCK" ls >> "$WORK/j"; done
printf '%-34s %s\n' "ls by the Java ddsetup (5 calls)" "$(stats < "$WORK/j")"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
