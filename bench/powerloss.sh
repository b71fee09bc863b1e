#!/usr/bin/env bash
# Power-loss check of the real appliance: a workload runs on a device stacked on log-writes, then the
# log is replayed to every flush and FUA point and to random states between them with unflushed
# writes dropped (tools/README.md, "powerloss"), every invariant checked at each.
#
# Usage: bench/powerloss.sh [--workload verifier|fio] [--stack linear|none] [--ops N] [--random R] [--mib M]
#   --workload verifier  (default) the verifying writer (numbered, checksummed blocks; flushes and FUA
#                        writes, 10 % each), marking the log at each durable point; checked: every
#                        acknowledged-and-flushed write is present
#   --workload fio       fio's nbd engine, 4 KiB random writes with --verify=crc32c and a flush every 8
#                        (queue depth 4); checked: every block zeros or a whole fio block for its offset
#   --stack linear       (default) the workload's device is `linear dm:lw 0` over `lw` = log-writes
#   --stack none         the workload writes to the log-writes device itself (a filesystem-free device)
#   --ops N              operations (default 2000); --random R states per flush batch (default 4);
#   --mib M              device size in MiB (default 16)
# Whatever the workload, the whole log must also replay to the data file as the run left it.
# Prints the tool's summary; exit 1 on a violation. Everything runs in a temp dir (KEEP=1 keeps it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
WORKLOAD=verifier STACK=linear OPS=2000 RANDOM_STATES=4 MIB=16
while (($#)); do
  case $1 in
    --workload) WORKLOAD=$2; shift 2 ;;
    --stack) STACK=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    --random) RANDOM_STATES=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $WORKLOAD == verifier || $WORKLOAD == fio ]] || { echo "--workload is verifier or fio" >&2; exit 64; }
[[ $STACK == linear || $STACK == none ]] || { echo "--stack is linear or none" >&2; exit 64; }
[[ $WORKLOAD != fio ]] || command -v fio >/dev/null || { echo "fio is not installed" >&2; exit 1; }
. bench/appliance.sh
bench_build

W=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-powerloss.XXXXXX")
APP_PID=
cleanup() {
  [[ -n $APP_PID ]] && kill -9 "$APP_PID" 2>/dev/null
  if [[ -n ${KEEP:-} ]]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
bench_dist "$W"
SECTORS=$((MIB * 2048))
truncate -s "${MIB}M" "$W/data.img"
truncate -s 4G "$W/log.img"
PORT=$(free_port)
appliance_start "$W/dist" "$W/home" "$PORT" "$W/appliance.log" || exit 1
appliance_ddsetup "$W/home" create lw --table "0 $SECTORS log-writes $W/data.img $W/log.img" || exit 1
DEV=lw
if [[ $STACK == linear ]]; then
  appliance_ddsetup "$W/home" create top --table "0 $SECTORS linear dm:lw 0" || exit 1
  DEV=top
fi
URI=nbd://127.0.0.1:$PORT/$DEV
if [[ $WORKLOAD == verifier ]]; then
  tools write --device "$URI" --journal "$W/journal" --blocks $((MIB * 256)) --ops "$OPS" --flush 0.1 --fua 0.1 \
    --mark-socket "$W/home/run/control.sock" --mark-device lw || exit 1
  CHECK=(--check verifier --journal "$W/journal")
else
  fio --name=powerloss --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --size="${MIB}M" --io_size=$((OPS * 4))k \
    --iodepth=4 --fsync=8 --verify=crc32c --do_verify=0 --randrepeat=0 >"$W/fio.log" 2>&1 || { cat "$W/fio.log"; exit 1; }
  CHECK=(--check fio --fio-block 4096)
fi
[[ $STACK == linear ]] && { appliance_ddsetup "$W/home" remove top || exit 1; }
appliance_ddsetup "$W/home" remove lw || exit 1   # the teardown writes the rest of the log and its end mark
kill -TERM "$APP_PID"; wait "$APP_PID"; APP_PID=
echo "powerloss.sh: $WORKLOAD on $([[ $STACK == linear ]] && echo "linear over log-writes" || echo "log-writes"), $OPS operations, ${MIB} MiB"
tools powerloss --log "$W/log.img" --device-sectors "$SECTORS" "${CHECK[@]}" --random "$RANDOM_STATES" \
  --seed "$RANDOM" --expect-final "$W/data.img"
