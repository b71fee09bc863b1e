#!/usr/bin/env bash
# Boot and takeover speed: how long the appliance takes from exec to its ready line, and then how
# long a device takes to be created and exported (goals, issue 24: <= 1.0 s and <= 100 ms).
#   Each run boots DIST's bin/ddmapper in a fresh home (NBD on a free loopback port, no console,
#   bin/ddmapper's default JVM options) and reads its stdout until the ready line; then
#     create+export  creates "b" (0 2048 zero) with examples/c/ddtest (a C client of the control
#                    socket, so no JVM start is counted) and opens the export with nbdinfo;
#     ddsetup        creates "c" with bin/ddsetup, the JVM CLI an operator or an agent runs;
#   and kills the appliance. Prints each run, the medians and the load average.
#
# Usage: bench/boot.sh [--once] [DIST] [RUNS]
#   DIST    a distribution directory (default runtime/target/ddmapper)
#   RUNS    default 5
#   --once  one boot, prints only "ready N ms" and exits when the ready line comes (for a timer
#           that takes the whole process, paired against another distribution)
# Needs cc (gcc) and nbdinfo (libnbd-bin). Everything runs in a temp dir on loopback.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
once=false
[ "${1:-}" = "--once" ] && { once=true; shift; }
dist=$(cd "${1:-$root/runtime/target/ddmapper}" && pwd -P)
runs=${2:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-boot.XXXXXX")
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

ms() { echo $(( ($2 - $1) / 1000000 )); }

# boot HOME: starts the appliance, waits for its ready line; sets pid, ready_ms, nbd, control
boot() {
  local home=$1 line t0
  mkfifo "$home.out"
  t0=$(date +%s%N)
  "$dist/bin/ddmapper" --no-console --http none --home "$home" --nbd 127.0.0.1:0 </dev/null >"$home.out" 2>"$home.err" &
  pid=$!
  exec 3<"$home.out"
  while IFS= read -r line <&3; do
    if [[ $line == "ddmapper ready: "* ]]; then
      ready_ms=$(ms "$t0" "$(date +%s%N)")
      nbd=${line#*nbd=}; nbd=${nbd%% *}
      control=${line#*control=}; control=${control%% *}
      return 0
    fi
  done
  echo "the appliance exited before its ready line:" >&2
  cat "$home.err" >&2
  exit 1
}

if $once; then
  boot "$work/home"
  echo "ready $ready_ms ms"
  # reaped here, so that a timer of this whole process counts the appliance's CPU up to its ready line
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
  exit 0
fi

for tool in cc nbdinfo; do
  command -v $tool >/dev/null || { echo "bench/boot.sh needs $tool (apt-get install gcc libnbd-bin)" >&2; exit 1; }
done
cc -O2 -o "$work/ddtest" "$root/examples/c/ddtest.c"
readys=() creates=() clis=()
for i in $(seq "$runs"); do
  home=$work/home$i
  boot "$home"
  t0=$(date +%s%N)
  "$work/ddtest" "$control" create b "0 2048 zero" >/dev/null
  nbdinfo --size "nbd://$nbd/b" >/dev/null
  create_ms=$(ms "$t0" "$(date +%s%N)")
  t0=$(date +%s%N)
  "$dist/bin/ddsetup" --socket "$control" create c --table "0 2048 zero"
  cli_ms=$(ms "$t0" "$(date +%s%N)")
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
  exec 3<&-
  echo "run $i: ready $ready_ms ms, create+export $create_ms ms, ddsetup create $cli_ms ms"
  readys+=("$ready_ms") creates+=("$create_ms") clis+=("$cli_ms")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: ready $(median "${readys[@]}") ms, create+export $(median "${creates[@]}") ms, ddsetup create $(median "${clis[@]}") ms" \
  "($runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
