#!/usr/bin/env bash
# Mirror benchmark: fio over our NBD export, the same machine, everything in one run.
#   1. a 2-leg mirror (files, disk log) against a linear device on one of its legs, paired runs:
#      4 KiB random write QD16, 1 MiB sequential write QD8, 4 KiB random read QD16, 1 MiB
#      sequential read QD8. Goals: seq write >= 0.8x linear, random write >= 0.6x, reads >= 0.95x.
#   2. two remote legs, each an nbdkit server behind its rate filter: 1 MiB reads QD8 through a
#      mirror of both against a linear device over one. Goal >= 1.6x (reads spread over both legs).
#   3. resync of a new leg (every region copied) against a plain copy of the same data
#      (nbdcopy from our linear export into a new file). Goal >= 0.8x.
# Each pair is run REPS times after 3 s of warm-up of each side, which side first alternating,
# after a sync; the ratio is each pair's, the table shows the last pair's numbers and the median ratio.
# Usage: bench/mirror.sh [quick]   quick: 256 MiB legs, 4 s runs, 1 repetition (a smoke run; the
# numbers are rough). A real run wants a quiet machine (uptime load below 1). Temp dir, loopback
# and Unix sockets; every process it starts is killed by pid on exit.
# Prerequisites: fio (nbd engine), nbdkit (file plugin, rate filter), nbdcopy, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${1:-}
RUN=$([[ $QUICK == quick ]] && echo 4 || echo 15)
REPS=$([[ $QUICK == quick ]] && echo 1 || echo 3)
LEG_MB=$([[ $QUICK == quick ]] && echo 256 || echo 2048)
RATE=${RATE:-400M}   # nbdkit rate filter, bits per second per remote leg (400M = 50 MB/s)
[[ -x runtime/target/ddmapper/bin/ddmapper ]] || mvn -q -o -DskipTests -pl runtime -am package
W=$(mktemp -d /tmp/ddmapper-bench-mirror.XXXXXX)
DIST=$W/dist
mkdir "$DIST" && cp -r runtime/target/ddmapper/{bin,lib,bundle,etc} "$DIST"/
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
echo "load before: $(uptime | sed 's/.*load average: //')"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_sock() { for _ in $(seq 200); do [[ -S $1 ]] && return 0; sleep 0.05; done; echo "no socket $1" >&2; exit 1; }
PORT=$(free_port)
"$DIST/bin/ddmapper" --no-console --http none --home "$W/home" --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
APP=$!; PIDS+=($APP)
for _ in $(seq 600); do grep -q 'ddmapper ready' "$W/appliance.log" && break; sleep 0.1; done
grep -q 'ddmapper ready' "$W/appliance.log" || { echo "appliance did not start:"; cat "$W/appliance.log"; exit 1; }
ddsetup() { "$DIST/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }
in_sync() { # device: waits until every region is in sync
  until ddsetup status "$1" | grep -qE " ([0-9]+)/\1 1 A+ "; do sleep 0.05; done
}

fio_bw() { # export, fio args: MiB/s (read + write)
  local out=$W/fio-$RANDOM.json
  fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$1" --name=b --output-format=json --output="$out" \
      --runtime=$RUN --time_based --group_reporting "${@:2}" >/dev/null
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.1f" % (sum(x["read"]["bw_bytes"]+x["write"]["bw_bytes"] for x in j["jobs"])/2**20))' "$out"
}
fio_iops() {
  local out=$W/fio-$RANDOM.json
  fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$1" --name=b --output-format=json --output="$out" \
      --runtime=$RUN --time_based --group_reporting "${@:2}" >/dev/null
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f" % sum(x["read"]["iops"]+x["write"]["iops"] for x in j["jobs"]))' "$out"
}
warm() { # export, fio args: 3 s unmeasured (the JIT compiles the paths the measured runs take)
  fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$1" --name=w --output-format=json --output="$W/warm.json" \
      --runtime=3 --time_based "${@:2}" >/dev/null
}
median() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
ROWS=()
# paired runs: $1 label, $2 metric function, $3 goal, $4 mirror export, $5 peer export, rest fio args
pair() {
  local label=$1 metric=$2 goal=$3 mine=$4 peer=$5 ratios=() m p
  shift 5
  for d in "$mine" "$peer"; do warm "$d" "$@"; done
  for i in $(seq "$REPS"); do
    # dirty pages of the previous run written back first; the order alternates, so neither side
    # always runs after the other's writes
    if (( i % 2 )); then sync; m=$($metric "$mine" "$@"); sync; p=$($metric "$peer" "$@")
    else sync; p=$($metric "$peer" "$@"); sync; m=$($metric "$mine" "$@"); fi
    ratios+=("$(ratio "$m" "$p")")
  done
  ROWS+=("$(printf '%-32s %10s %10s %7s %6s' "$label" "$m" "$p" "$(median "${ratios[@]}")" ">=$goal")")
}

S=$((LEG_MB * 2048))
for f in a b; do dd if=/dev/urandom of="$W/$f.img" bs=1M count="$LEG_MB" status=none; done
truncate -s 1M "$W/log.img"
ddsetup create lin --table "0 $S linear $W/a.img 0"
ddsetup create mir --table "0 $S mirror disk 3 $W/log.img 1024 nosync 2 $W/a.img 0 $W/b.img 0 1 handle_errors"
echo "== 1. mirror of two files vs linear on one (${RUN}s runs, $REPS pairs, ${LEG_MB} MiB legs)"
pair "4 KiB random write QD16 (IOPS)" fio_iops 0.6 mir lin --rw=randwrite --bs=4k --iodepth=16
pair "1 MiB sequential write QD8" fio_bw 0.8 mir lin --rw=write --bs=1M --iodepth=8
pair "4 KiB random read QD16 (IOPS)" fio_iops 0.95 mir lin --rw=randread --bs=4k --iodepth=16
pair "1 MiB sequential read QD8" fio_bw 0.95 mir lin --rw=read --bs=1M --iodepth=8

echo "== 2. two remote legs, each rate-limited to $RATE bit/s (nbdkit rate filter)"
for r in r1 r2; do
  rm -f "$W/$r.sock"
  nbdkit --foreground --unix "$W/$r.sock" --filter=rate file "file=$W/a.img" rate="$RATE" >>"$W/peers.log" 2>&1 &
  PIDS+=($!); wait_sock "$W/$r.sock"
done
R1="nbd+unix:///?socket=$W/r1.sock"; R2="nbd+unix:///?socket=$W/r2.sock"
ddsetup create remote1 --table "0 $S linear $R1 0"
ddsetup create remote2 --table "0 $S mirror core 2 1024 nosync 2 $R1 0 $R2 0"
pair "1 MiB reads QD8, 2 legs vs 1 leg" fio_bw 1.6 remote2 remote1 --rw=read --bs=1M --iodepth=8
ddsetup remove remote2; ddsetup remove remote1

echo "== 3. resync of a new leg vs a plain copy of the same data (nbdcopy from our linear export)"
RES=(); COPY=()
for i in $(seq "$REPS"); do
  rm -f "$W/c.img" "$W/d.img"; truncate -s "${LEG_MB}M" "$W/c.img"
  t0=$(date +%s.%N)
  ddsetup create res --table "0 $S mirror core 1 1024 2 $W/a.img 0 $W/c.img 0"
  in_sync res
  t1=$(date +%s.%N)
  ddsetup remove res
  nbdcopy "nbd://127.0.0.1:$PORT/lin" "$W/d.img"
  t2=$(date +%s.%N)
  RES+=("$(python3 -c "print('%.1f' % ($LEG_MB / ($t1 - $t0)))")"); COPY+=("$(python3 -c "print('%.1f' % ($LEG_MB / ($t2 - $t1)))")")
  cmp "$W/a.img" "$W/c.img" || { echo "resynced leg differs from its source"; exit 1; }
done
ratios=(); for i in "${!RES[@]}"; do ratios+=("$(ratio "${RES[$i]}" "${COPY[$i]}")"); done
ROWS+=("$(printf '%-32s %10s %10s %7s %6s' "resync MiB/s vs nbdcopy MiB/s" "${RES[-1]}" "${COPY[-1]}" "$(median "${ratios[@]}")" ">=0.8")")

echo
printf '%-32s %10s %10s %7s %6s\n' "case" "mirror" "peer" "ratio" "goal"
printf '%s\n' "${ROWS[@]}"
echo "load after: $(uptime | sed 's/.*load average: //')"
