#!/usr/bin/env bash
# Multipath benchmark: real NBD path servers (nbdkit, qemu-nbd) behind the appliance, fio over
# our NBD export.
#   1. throughput: 128 KiB sequential reads, round-robin over two healthy paths vs one path
#   2. stall seen by fio when a path server is SIGKILLed (Unix socket paths, and TCP paths) and
#      when it is SIGSTOPped (path_io_timeout_msecs 1000: goal = timeout + under 100 ms). The
#      stall is the largest gap between two completions of the fio job around the fault
#      (bench/fio-gaps.py: every completion is logged with its wall-clock time), not fio's max
#      completion latency, which cannot isolate a failover (requeued requests complete with
#      ordinary latencies while nothing completes for the whole failover)
#   3. scale: 256 maps x 4 paths (boot tables), the path monitor's check cycle vs the polling
#      interval, and how long `ddsetup status` takes for all 256 maps
# Usage: bench/multipath.sh [quick]   quick: 4 s runs, a 128 MiB LUN, 32 maps in part 3 (a check
# that it works, numbers rougher). Everything on loopback/Unix sockets in a temp dir; every
# process it starts is killed by pid on exit. Prerequisites: fio (nbd engine), nbdkit, qemu-nbd, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=${1:-}
RUN=$([[ $QUICK == quick ]] && echo 4 || echo 10)
LUN_MB=$([[ $QUICK == quick ]] && echo 128 || echo 1024)
MAPS=$([[ $QUICK == quick ]] && echo 32 || echo 256)
DIST=$ROOT/runtime/target/ddmapper
[[ -x $DIST/bin/ddmapper ]] || mvn -q -o -DskipTests -pl runtime -am package
W=$(mktemp -d /tmp/ddmapper-bench-mp.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_sock() { for _ in $(seq 200); do [[ -S $1 ]] && return 0; sleep 0.05; done; echo "no socket $1" >&2; exit 1; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "no listener on port $1" >&2; exit 1; }
now_ms() { date +%s%3N; }

# start a server; its pid is left in LAST (no command substitution: the server must not live in a subshell)
nbdkit_unix() { rm -f "$1"; nbdkit --foreground --unix "$1" file "file=$2" >>"$W/peers.log" 2>&1 & LAST=$!; PIDS+=($LAST); disown $LAST; wait_sock "$1"; }
nbdkit_tcp() { nbdkit --foreground --ipaddr 127.0.0.1 --port "$1" file "file=$2" >>"$W/peers.log" 2>&1 & LAST=$!; PIDS+=($LAST); disown $LAST; wait_port "$1"; }
qemu_unix() { rm -f "$1"; qemu-nbd --format=raw --persistent --shared=0 --socket "$1" "$2" >>"$W/peers.log" 2>&1 & LAST=$!; PIDS+=($LAST); disown $LAST; wait_sock "$1"; }

boot_appliance() { # $1 = multipath.conf text
  rm -rf "$W/etc" "$W/home"; cp -r "$DIST/etc" "$W/etc"; rm -f "$W/etc/tables/"*.table
  printf '%s\n' "$1" > "$W/etc/multipath.conf"
  [[ -d $W/tables ]] && cp "$W"/tables/*.table "$W/etc/tables/" 2>/dev/null || true
  PORT=$(free_port)
  "$DIST/bin/ddmapper" --no-console --http none --home "$W/home" --etc "$W/etc" --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
  APP=$!; PIDS+=($APP); disown $APP
  for _ in $(seq 600); do grep -q 'ddmapper ready' "$W/appliance.log" && return 0; sleep 0.1; done
  echo "appliance did not start:"; cat "$W/appliance.log"; exit 1
}
ddsetup() { "$DIST/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }
stop_appliance() { kill -TERM "$APP" 2>/dev/null; for _ in $(seq 100); do kill -0 "$APP" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$APP"; }

fio_json() { # $1 = export, rest = fio args; prints the JSON file name
  local out=$W/fio-$RANDOM.json
  fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$1" --name=b --output-format=json --output="$out" "${@:2}" >/dev/null
  echo "$out"
}
bw_mib() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f" % (sum(x["read"]["bw_bytes"]+x["write"]["bw_bytes"] for x in j["jobs"])/2**20))' "$1"; }
max_lat_ms() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.1f" % (max(max(x["read"]["clat_ns"]["max"], x["write"]["clat_ns"]["max"]) for x in j["jobs"])/1e6))' "$1"; }

# fio with every completion logged (wall-clock ms) while FAULT (a shell command, run after 2 s)
# hits a path; prints "GAP_MS MAX_LATENCY_MS COMPLETIONS JOBS" (bench/fio-gaps.py) for the gaps
# overlapping [fault start, fault end + TAIL ms], or over the whole run when FAULT is empty.
# $1 = export, $2 = FAULT, $3 = TAIL, rest = fio args
fio_gap() {
  local lat=$W/lat-$RANDOM fault=$2 tail=$3 t0 t1 pid
  fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$1" --name=g --output-format=json --output="$lat.json" \
      --write_lat_log="$lat" --log_avg_msec=0 --log_unix_epoch=1 "${@:4}" >/dev/null &
  pid=$!
  if [[ -z $fault ]]; then
    wait $pid; python3 "$ROOT/bench/fio-gaps.py" "$lat"
  else
    sleep 2; t0=$(now_ms); eval "$fault"; t1=$(now_ms)
    wait $pid; python3 "$ROOT/bench/fio-gaps.py" "$lat" "$t0" $((t1 + tail))
  fi
}

SECTORS=$((LUN_MB * 2048))
truncate -s "${LUN_MB}M" "$W/lun.img"
dd if=/dev/urandom of="$W/lun.img" bs=1M count="$LUN_MB" conv=notrunc status=none
A=$W/a.sock; B=$W/b.sock
nbdkit_unix "$A" "$W/lun.img"; PA=$LAST; nbdkit_unix "$B" "$W/lun.img"; PB=$LAST
RA="nbd+unix:///?socket=$A"; RB="nbd+unix:///?socket=$B"
TPA=$(free_port); TPB=$(free_port)
nbdkit_tcp "$TPA" "$W/lun.img"; PTA=$LAST; nbdkit_tcp "$TPB" "$W/lun.img"; PTB=$LAST
TA="nbd://127.0.0.1:$TPA/"; TB="nbd://127.0.0.1:$TPB/"

echo "== 1. throughput: round-robin over two paths vs one (128 KiB sequential reads, qd 16 x 2 jobs, ${RUN}s)"
boot_appliance $'defaults {\n polling_interval 1\n}'
ddsetup create one --table "0 $SECTORS multipath 0 0 1 1 round-robin 0 1 0 $RA"
ddsetup create two --table "0 $SECTORS multipath 0 0 1 1 round-robin 0 2 0 $RA $RB"
ddsetup create raw --table "0 $SECTORS linear $W/lun.img 0"
HALF=$((LUN_MB / 2))m
J=(--rw=read --bs=128k --iodepth=16 --numjobs=2 --offset_increment=$HALF --size=$HALF --runtime=$RUN --time_based --group_reporting)
ONE=$(bw_mib "$(fio_json one "${J[@]}")"); TWO=$(bw_mib "$(fio_json two "${J[@]}")")
echo "one path: $ONE MiB/s   two paths: $TWO MiB/s   ratio two/one: $(python3 -c "print('%.2f' % ($TWO/$ONE))")"

echo "== 2. stall seen by fio: largest gap between two completions (4 KiB random reads, qd 16, ${RUN}s; fault after 2 s)"
ddsetup create stall --table "0 $SECTORS multipath 2 path_io_timeout_msecs 1000 0 1 1 round-robin 0 2 0 $RA $RB"
ddsetup create stalltcp --table "0 $SECTORS multipath 2 path_io_timeout_msecs 1000 0 1 1 round-robin 0 2 0 $TA $TB"
S=(--rw=randread --bs=4k --iodepth=16 --runtime=$RUN --time_based)
read -r BASE BASE_LAT _ < <(fio_gap stall "" 0 "${S[@]}")
read -r BASE_TCP BASE_TCP_LAT _ < <(fio_gap stalltcp "" 0 "${S[@]}")
read -r KILL KILL_LAT _ < <(fio_gap stall 'kill -9 $PB' 2000 "${S[@]}")
read -r KILL_TCP KILL_TCP_LAT _ < <(fio_gap stalltcp 'kill -9 $PTB' 2000 "${S[@]}")
nbdkit_unix "$B" "$W/lun.img"; PB=$LAST; sleep 2.5   # the monitor reconnects the path
read -r HANG HANG_LAT _ < <(fio_gap stall 'kill -STOP $PA; sleep 3; kill -CONT $PA' 1000 "${S[@]}")
echo "largest gap between completions:"
echo "  unix paths: no fault (whole run) $BASE ms   SIGKILL (kill .. +2 s) $KILL ms   SIGSTOP 3 s (stop .. cont+1 s) $HANG ms (path I/O timeout 1000 ms)"
echo "  tcp paths:  no fault (whole run) $BASE_TCP ms   SIGKILL (kill .. +2 s) $KILL_TCP ms"
echo "fio's max completion latency, for comparison: unix no fault $BASE_LAT / SIGKILL $KILL_LAT / SIGSTOP $HANG_LAT ms;" \
     "tcp no fault $BASE_TCP_LAT / SIGKILL $KILL_TCP_LAT ms"
ddsetup status stall
ddsetup status stalltcp
stop_appliance

echo "== 3. scale: $MAPS maps x 4 paths (4 qemu-nbd servers), polling_interval 5"
mkdir -p "$W/tables"
for i in 0 1 2 3; do qemu_unix "$W/q$i.sock" "$W/lun.img"; done
for m in $(seq -f %03g 0 $((MAPS - 1))); do
  echo "0 $SECTORS multipath 0 0 1 1 round-robin 0 4 0 nbd+unix:///?socket=$W/q0.sock nbd+unix:///?socket=$W/q1.sock nbd+unix:///?socket=$W/q2.sock nbd+unix:///?socket=$W/q3.sock" > "$W/tables/mp$m.table"
done
T0=$(date +%s.%N)
boot_appliance $'defaults {\n polling_interval 5\n max_polling_interval 5\n}'
echo "boot with $MAPS maps / $((MAPS * 4)) NBD paths: $(python3 -c "print('%.1f' % ($(date +%s.%N)-$T0))") s"
sleep 12
ddsetup message mp000 @0 show daemon
T0=$(date +%s%N); ddsetup status > "$W/status.txt"; T1=$(date +%s%N)
echo "ddsetup status ($MAPS maps, $(wc -l < "$W/status.txt") lines, including the CLI's JVM start): $(( (T1-T0)/1000000 )) ms"
grep -c ' A 0 .* A 0 .* A 0 .* A 0' "$W/status.txt" | sed 's/^/maps with all 4 paths active: /'
stop_appliance
