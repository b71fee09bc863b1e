#!/usr/bin/env bash
# The kill -9 loop: verifying writers (tools/README.md, "write": numbered, checksummed blocks, FLUSH
# and FUA, an fsynced journal of what was acknowledged) write to devices of each type while the
# appliance is killed with SIGKILL at a random moment; after each restart (same home: the devices
# come back from the state file) every device is checked against its writer's journal — every
# write acknowledged and made durable before the kill must be there, every block whole — and new
# writers start. Prints cycles, violations and the restart-time distribution (spawn to ready line).
#
# Usage: bench/crash.sh [--cycles N] [--types linear,striped,multipath] [--min-ms MS] [--max-ms MS] [--mib M]
#   --cycles N     kill -9 cycles (default 20)
#   --types LIST   device types (default linear,striped,multipath): linear over a file; striped over
#                  two files (2 stripes, 4 KiB chunks); multipath over two nbdkit servers of one file
#                  (queue_if_no_path)
#   --min-ms/--max-ms   the kill comes this long after the writers start (default 300..3000)
#   --mib M        device size (default 16 MiB)
# Exit 1 when there was a violation. Everything runs in a temp dir (TMPDIR; KEEP=1 keeps it); every
# process it starts is killed by pid. Note: kill -9 tests a crash of the appliance, not a power
# loss (the page cache survives); bench/powerloss.sh replays power losses.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
CYCLES=20 TYPES=linear,striped,multipath MIN_MS=300 MAX_MS=3000 MIB=16
while (($#)); do
  case $1 in
    --cycles) CYCLES=$2; shift 2 ;;
    --types) TYPES=$2; shift 2 ;;
    --min-ms) MIN_MS=$2; shift 2 ;;
    --max-ms) MAX_MS=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $CYCLES =~ ^[1-9][0-9]*$ && $MIN_MS =~ ^[0-9]+$ && $MAX_MS =~ ^[0-9]+$ && $MAX_MS -ge $MIN_MS ]] ||
  { echo "bad --cycles/--min-ms/--max-ms" >&2; exit 64; }
. bench/appliance.sh
bench_build

W=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-crash.XXXXXX")
APP_PID= WRITER_PID=
NBDKIT=()
cleanup() {
  for p in $APP_PID $WRITER_PID "${NBDKIT[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  if [[ -n ${KEEP:-} ]]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
bench_dist "$W"
SECTORS=$((MIB * 2048)) BLOCKS=$((MIB * 256))
DEVICES=()
for type in ${TYPES//,/ }; do
  case $type in
    linear)
      truncate -s "${MIB}M" "$W/linear.img"
      echo "0 $SECTORS linear $W/linear.img 0" >"$W/dist/etc/tables/linear.table" ;;
    striped)
      truncate -s "$((MIB / 2))M" "$W/s0.img" "$W/s1.img"
      echo "0 $SECTORS striped 2 8 $W/s0.img 0 $W/s1.img 0" >"$W/dist/etc/tables/striped.table" ;;
    multipath)
      command -v nbdkit >/dev/null || { echo "multipath needs nbdkit" >&2; exit 1; }
      mkdir -p "$W/luns"; truncate -s "${MIB}M" "$W/luns/mp"
      P1=$(free_port); P2=$(free_port)
      for p in $P1 $P2; do
        nbdkit --foreground --exit-with-parent --ipaddr 127.0.0.1 --port "$p" file dir="$W/luns" >"$W/nbdkit-$p.log" 2>&1 &
        NBDKIT+=($!)
      done
      for p in $P1 $P2; do for _ in $(seq 100); do nbdinfo --size "nbd://127.0.0.1:$p/mp" >/dev/null 2>&1 && break; sleep 0.1; done; done
      echo "0 $SECTORS multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 nbd://127.0.0.1:$P1/mp 1 nbd://127.0.0.1:$P2/mp 1" \
        >"$W/dist/etc/tables/multipath.table" ;;
    *) echo "unknown type $type (linear, striped, multipath)" >&2; exit 64 ;;
  esac
  DEVICES+=("$type")
done
PORT=$(free_port)
join() { local IFS=,; echo "$*"; }
uris() { local d out=(); for d in "${DEVICES[@]}"; do out+=("nbd://127.0.0.1:$PORT/$d"); done; join "${out[@]}"; }
journals() { local d out=(); for d in "${DEVICES[@]}"; do out+=("$W/journal.$1.$d"); done; join "${out[@]}"; }

RESTARTS=() VIOLATIONS=0 CHECKED=0
echo "crash.sh: $CYCLES cycles on ${DEVICES[*]} (${MIB} MiB each); kill after ${MIN_MS}..${MAX_MS} ms of writing"
for cycle in $(seq 0 "$CYCLES"); do
  appliance_start "$W/dist" "$W/home" "$PORT" "$W/appliance.$cycle.log" || { echo "cycle $cycle: the appliance did not restart"; exit 1; }
  ((cycle > 0)) && RESTARTS+=("$APP_READY_MS")
  VERIFY=()
  ((cycle > 0)) && VERIFY=(--verify-first "$(journals $((cycle - 1)))")
  SECONDS_LEFT=$((cycle < CYCLES ? 600 : 1))  # the last round only checks
  tools write --device "$(uris)" --journal "$(journals "$cycle")" --blocks "$BLOCKS" --seconds "$SECONDS_LEFT" \
    --flush 0.05 --fua 0.05 "${VERIFY[@]}" >"$W/writer.$cycle.log" 2>&1 &
  WRITER_PID=$!
  if ((cycle < CYCLES)); then
    # the kill comes a random while after the writers started writing (the checks of the last run done first)
    for _ in $(seq 600); do
      grep -q '^writing: ' "$W/writer.$cycle.log" && break
      kill -0 "$WRITER_PID" 2>/dev/null || break; sleep 0.1
    done
    sleep "$(awk -v a="$MIN_MS" -v b="$MAX_MS" -v r="$RANDOM" 'BEGIN { printf "%.3f", (a + (b - a) * r / 32767) / 1000 }')"
    kill -9 "$APP_PID"; wait "$APP_PID" 2>/dev/null; APP_PID=
  fi
  for _ in $(seq 1200); do kill -0 "$WRITER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$WRITER_PID" 2>/dev/null; wait "$WRITER_PID" 2>/dev/null; WRITER_PID=
  if ((cycle > 0)); then
    n=$(grep -c '^check .*violations' "$W/writer.$cycle.log")
    v=$(awk '/^check .*violations/ { s += $(NF - 1) } END { print s + 0 }' "$W/writer.$cycle.log")
    if ((n != ${#DEVICES[@]})); then
      echo "cycle $cycle: the check did not run for every device:"; sed 's/^/  /' "$W/writer.$cycle.log"; VIOLATIONS=$((VIOLATIONS + 1))
    elif ((v > 0)); then
      echo "cycle $cycle: $v violations:"; grep -A20 '^check .*[1-9][0-9]* violations' "$W/writer.$cycle.log" | sed 's/^/  /'
      VIOLATIONS=$((VIOLATIONS + v))
    fi
    CHECKED=$((CHECKED + 1))
  fi
  ((cycle % 10 == 0 && cycle > 0)) && echo "  $cycle cycles, $VIOLATIONS violations so far"
done
kill -TERM "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; APP_PID=
WRITES=$(cat "$W"/writer.*.log | awk '/^write / { for (i = 2; i <= NF; i++) if ($i == "writes") s += $(i - 1) } END { print s + 0 }')
printf '%s\n' "${RESTARTS[@]}" | sort -n >"$W/restarts"
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR - 1) * p + 0.5) + 1; print v[i] }' "$W/restarts"; }
echo "cycles: $CHECKED   violations: $VIOLATIONS   writes acknowledged: $WRITES"
echo "restart to ready (ms): min $(pct 0) median $(pct 0.5) p90 $(pct 0.9) max $(pct 1)"
((VIOLATIONS == 0))
