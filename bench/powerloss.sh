#!/usr/bin/env bash
# Power-loss check of the real appliance: a workload runs on a device stacked on log-writes, then the
# log is replayed to every flush and FUA point and to random states between them with unflushed
# writes dropped (tools/README.md, "powerloss"), every invariant checked at each.
#
# Usage: bench/powerloss.sh [--workload verifier|fio|snapshot|mirror] [--stack linear|none|mirror] [--ops N] [--random R] [--mib M]
#                          [--workloads W]
#   --workload verifier  (default) the verifying writer (numbered, checksummed blocks; flushes and FUA
#                        writes, 10 % each), marking the log at each durable point; checked: every
#                        acknowledged-and-flushed write is present
#   --workload fio       fio's nbd engine, 4 KiB random writes with --verify=crc32c and a flush every 8
#                        (queue depth 4); checked: every block zeros or a whole fio block for its offset
#   --workload snapshot  the verifying writer on a snapshot (persistent store, 8 KiB chunks) and its origin,
#                        laid out on one log-writes device, targets in process (tools' SnapshotPowerLossTest);
#                        checked: the store opens, the snapshot reads as the origin did when it was made
#                        except where written, every acknowledged-and-flushed write to either is there
#   --workload mirror    the verifying writer on a two-leg mirror with a disk log (regions of 16 sectors),
#                        legs and log on one log-writes device, in process (MirrorPowerLossTest), pausing
#                        so the cleaner marks regions clean; checked: every region the log calls clean is
#                        the same on both legs, every acknowledged-and-flushed write is on leg 0
#   --workloads W        snapshot/mirror: W workloads of --ops operations each (default 1; seeds 1..W;
#                        --random is 2 states per batch, --stack and --mib do not apply)
#   --stack linear       (default) the workload's device is `linear dm:lw 0` over `lw` = log-writes
#   --stack none         the workload writes to the log-writes device itself (a filesystem-free device)
#   --stack mirror       the workload's device is a two-leg mirror with a disk log (regions of 128 sectors)
#                        whose legs and log are linear slices of `lw` (leg 0, leg 1, then 1 MiB of log), in
#                        the appliance; checked besides: every region the log calls clean is the same on both legs
#   --ops N              operations (default 2000); --random R states per flush batch (default 4);
#   --mib M              device size in MiB (default 16)
# Whatever the workload, the whole log must also replay to the data file as the run left it.
# Prints the tool's summary; exit 1 on a violation. Everything runs in a temp dir (KEEP=1 keeps it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
WORKLOAD=verifier STACK=linear OPS=2000 RANDOM_STATES=4 MIB=16 WORKLOADS=1
while (($#)); do
  case $1 in
    --workload) WORKLOAD=$2; shift 2 ;;
    --stack) STACK=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    --random) RANDOM_STATES=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $WORKLOAD =~ ^(verifier|fio|snapshot|mirror)$ ]] || { echo "--workload is verifier, fio, snapshot or mirror" >&2; exit 64; }
[[ $WORKLOADS =~ ^[1-9][0-9]*$ && $OPS =~ ^[1-9][0-9]*$ ]] || { echo "--workloads and --ops want a positive number" >&2; exit 64; }
if [[ $WORKLOAD == snapshot || $WORKLOAD == mirror ]]; then
  # the targets in process over log-writes (the test kit's context): the tools module's replay test, scaled up
  TEST=$([[ $WORKLOAD == snapshot ]] && echo 'SnapshotPowerLossTest#theStore*' || echo 'MirrorPowerLossTest#cleanRegions*')
  REPORTS=tools/target/surefire-reports/org.ddmapper.tools.powerloss.${TEST%%#*}
  rm -f "$REPORTS"*
  echo "powerloss.sh: $WORKLOAD, $WORKLOADS workloads of $OPS operations (in process, $TEST)"
  mvn -q -o -B test -pl tools -am -Dtest="$TEST" -Dsurefire.failIfNoSpecifiedTests=false -Dpowerloss.workloads="$WORKLOADS" \
    -Dpowerloss.ops="$OPS" -Djunit.jupiter.execution.timeout.mode=disabled >"${TMPDIR:-/tmp}/powerloss-$$.mvn.log" 2>&1
  rc=$?
  grep -h "workload [0-9]* of" "$REPORTS-output.txt" 2>/dev/null | sed 's/^/  /'
  if ((rc != 0)); then
    grep -h -A3 "FAILURE\|violations" tools/target/surefire-reports/*PowerLossTest.txt 2>/dev/null | head -20
    echo "powerloss.sh: FAILED (maven log: ${TMPDIR:-/tmp}/powerloss-$$.mvn.log)"; exit 1
  fi
  rm -f "${TMPDIR:-/tmp}/powerloss-$$.mvn.log"
  echo "powerloss.sh: $WORKLOADS $WORKLOAD workloads, 0 violations"; exit 0
fi
[[ $STACK =~ ^(linear|none|mirror)$ ]] || { echo "--stack is linear, none or mirror" >&2; exit 64; }
[[ $STACK != mirror || $WORKLOAD == verifier ]] || { echo "--stack mirror takes the verifier workload" >&2; exit 64; }
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
LW_SECTORS=$([[ $STACK == mirror ]] && echo $((2 * SECTORS + 2048)) || echo "$SECTORS")
truncate -s $((LW_SECTORS * 512)) "$W/data.img"
truncate -s 4G "$W/log.img"
PORT=$(free_port)
appliance_start "$W/dist" "$W/home" "$PORT" "$W/appliance.log" || exit 1
appliance_ddsetup "$W/home" create lw --table "0 $LW_SECTORS log-writes $W/data.img $W/log.img" || exit 1
DEV=lw LOWER=()
if [[ $STACK == linear ]]; then
  appliance_ddsetup "$W/home" create top --table "0 $SECTORS linear dm:lw 0" || exit 1
  DEV=top
elif [[ $STACK == mirror ]]; then
  appliance_ddsetup "$W/home" create leg0 --table "0 $SECTORS linear dm:lw 0" || exit 1
  appliance_ddsetup "$W/home" create leg1 --table "0 $SECTORS linear dm:lw $SECTORS" || exit 1
  appliance_ddsetup "$W/home" create mlog --table "0 2048 linear dm:lw $((2 * SECTORS))" || exit 1
  appliance_ddsetup "$W/home" create top --table "0 $SECTORS mirror disk 2 dm:mlog 128 2 dm:leg0 0 dm:leg1 0" || exit 1
  LOWER=(mlog leg1 leg0) DEV=top
fi
URI=nbd://127.0.0.1:$PORT/$DEV
if [[ $WORKLOAD == verifier ]]; then
  tools write --device "$URI" --journal "$W/journal" --blocks $((MIB * 256)) --ops "$OPS" --flush 0.1 --fua 0.1 \
    --mark-socket "$W/home/run/control.sock" --mark-device lw || exit 1
  CHECK=(--check verifier --journal "$W/journal")
  [[ $STACK == mirror ]] && CHECK=(--check mirror --journal "$W/journal" --leg-sectors "$SECTORS" --region-sectors 128)
else
  fio --name=powerloss --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --size="${MIB}M" --io_size=$((OPS * 4))k \
    --iodepth=4 --fsync=8 --verify=crc32c --do_verify=0 --randrepeat=0 >"$W/fio.log" 2>&1 || { cat "$W/fio.log"; exit 1; }
  CHECK=(--check fio --fio-block 4096)
fi
# a mirror marks a region clean once it has been idle for one to two cleaner ticks (500 ms each): on a
# quiet machine the writer is done sooner, so wait for the marks to reach the log before tearing down
[[ $STACK == mirror ]] && sleep 1.5
[[ $STACK != none ]] && { appliance_ddsetup "$W/home" remove top || exit 1; }
for d in "${LOWER[@]}"; do appliance_ddsetup "$W/home" remove "$d" || exit 1; done
appliance_ddsetup "$W/home" remove lw || exit 1   # the teardown writes the rest of the log and its end mark
kill -TERM "$APP_PID"; wait "$APP_PID"; APP_PID=
echo "powerloss.sh: $WORKLOAD on $([[ $STACK == none ]] && echo "log-writes" || echo "$STACK over log-writes"), $OPS operations, ${MIB} MiB"
tools powerloss --log "$W/log.img" --device-sectors "$LW_SECTORS" "${CHECK[@]}" --random "$RANDOM_STATES" \
  --seed "$RANDOM" --expect-final "$W/data.img"
