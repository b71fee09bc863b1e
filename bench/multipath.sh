#!/usr/bin/env bash
# Multipath benchmark: real NBD path servers (nbdkit, qemu-nbd) behind the appliance, fio over
# our NBD export.
#   1. throughput: 128 KiB sequential reads, round-robin over two healthy paths vs one path
#   2. stall seen by fio (max completion latency) when a path server is SIGKILLed, and when it
#      is SIGSTOPped (path_io_timeout_msecs 1000: goal = timeout + under 100 ms)
#   3. scale: 256 maps x 4 paths (boot tables), the path monitor's check cycle vs the polling
#      interval, and how long `ddsetup status` takes for all 256 maps
# Usage: bench/multipath.sh [quick]   Everything on loopback/Unix sockets in a temp dir; every
# process it starts is killed by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=${1:-}
RUN=$([[ $QUICK == quick ]] && echo 4 || echo 10)
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

# start a server; its pid is left in LAST (no command substitution: the server must not live in a subshell)
nbdkit_unix() { rm -f "$1"; nbdkit --foreground --unix "$1" file "file=$2" >>"$W/peers.log" 2>&1 & LAST=$!; PIDS+=($LAST); wait_sock "$1"; }
qemu_unix() { rm -f "$1"; qemu-nbd --format=raw --persistent --shared=0 --socket "$1" "$2" >>"$W/peers.log" 2>&1 & LAST=$!; PIDS+=($LAST); wait_sock "$1"; }

boot_appliance() { # $1 = multipath.conf text
  rm -rf "$W/etc" "$W/home"; cp -r "$DIST/etc" "$W/etc"; rm -f "$W/etc/tables/"*.table
  printf '%s\n' "$1" > "$W/etc/multipath.conf"
  [[ -d $W/tables ]] && cp "$W"/tables/*.table "$W/etc/tables/" 2>/dev/null || true
  PORT=$(free_port)
  "$DIST/bin/ddmapper" --no-console --home "$W/home" --etc "$W/etc" --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
  APP=$!; PIDS+=($APP)
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

SECTORS=$((1024 * 1024 * 2))              # 1 GiB LUN
truncate -s 1G "$W/lun.img"
dd if=/dev/urandom of="$W/lun.img" bs=1M count=1024 conv=notrunc status=none
A=$W/a.sock; B=$W/b.sock
nbdkit_unix "$A" "$W/lun.img"; PA=$LAST; nbdkit_unix "$B" "$W/lun.img"; PB=$LAST
RA="nbd+unix:///?socket=$A"; RB="nbd+unix:///?socket=$B"

echo "== 1. throughput: round-robin over two paths vs one (128 KiB sequential reads, qd 16 x 2 jobs, ${RUN}s)"
boot_appliance $'defaults {\n polling_interval 1\n}'
ddsetup create one --table "0 $SECTORS multipath 0 0 1 1 round-robin 0 1 0 $RA"
ddsetup create two --table "0 $SECTORS multipath 0 0 1 1 round-robin 0 2 0 $RA $RB"
ddsetup create raw --table "0 $SECTORS linear $W/lun.img 0"
J=(--rw=read --bs=128k --iodepth=16 --numjobs=2 --offset_increment=512m --size=512m --runtime=$RUN --time_based --group_reporting)
ONE=$(bw_mib "$(fio_json one "${J[@]}")"); TWO=$(bw_mib "$(fio_json two "${J[@]}")")
echo "one path: $ONE MiB/s   two paths: $TWO MiB/s   ratio two/one: $(python3 -c "print('%.2f' % ($TWO/$ONE))")"

echo "== 2. stall seen by fio (4 KiB random reads, qd 16, ${RUN}s; path killed / hung after 2 s)"
ddsetup create stall --table "0 $SECTORS multipath 2 path_io_timeout_msecs 1000 0 1 1 round-robin 0 2 0 $RA $RB"
S=(--rw=randread --bs=4k --iodepth=16 --runtime=$RUN --time_based)
BASE=$(max_lat_ms "$(fio_json stall "${S[@]}")")
( sleep 2; kill -9 "$PB" ) & K=$!; F=$(fio_json stall "${S[@]}"); wait $K
KILL=$(max_lat_ms "$F")
nbdkit_unix "$B" "$W/lun.img"; PB=$LAST; sleep 2.5   # the monitor reconnects the path
( sleep 2; kill -STOP "$PA"; sleep 3; kill -CONT "$PA" ) & K=$!; F=$(fio_json stall "${S[@]}"); wait $K
HANG=$(max_lat_ms "$F")
echo "max latency: no fault $BASE ms   server SIGKILLed $KILL ms   server SIGSTOPped $HANG ms (path I/O timeout 1000 ms)"
ddsetup status stall
stop_appliance

echo "== 3. scale: 256 maps x 4 paths (4 qemu-nbd servers), polling_interval 5"
mkdir -p "$W/tables"
for i in 0 1 2 3; do qemu_unix "$W/q$i.sock" "$W/lun.img"; done
for m in $(seq -w 0 255); do
  echo "0 $SECTORS multipath 0 0 1 1 round-robin 0 4 0 nbd+unix:///?socket=$W/q0.sock nbd+unix:///?socket=$W/q1.sock nbd+unix:///?socket=$W/q2.sock nbd+unix:///?socket=$W/q3.sock" > "$W/tables/mp$m.table"
done
T0=$(date +%s.%N)
boot_appliance $'defaults {\n polling_interval 5\n max_polling_interval 5\n}'
echo "boot with 256 maps / 1024 NBD paths: $(python3 -c "print('%.1f' % ($(date +%s.%N)-$T0))") s"
sleep 12
ddsetup message mp000 @0 show daemon
T0=$(date +%s%N); ddsetup status > "$W/status.txt"; T1=$(date +%s%N)
echo "ddsetup status (256 maps, $(wc -l < "$W/status.txt") lines, including the CLI's JVM start): $(( (T1-T0)/1000000 )) ms"
grep -c ' A 0 .* A 0 .* A 0 .* A 0' "$W/status.txt" | sed 's/^/maps with all 4 paths active: /'
stop_appliance
