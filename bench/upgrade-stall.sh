#!/usr/bin/env bash
# Live-upgrade stall: the longest pause NBD clients see while a target bundle is upgraded under them.
#   Boots the appliance from a copy of the distribution (an upgrade rewrites bundle/), creates
#   --devices N devices of the --table type, runs fio over NBD (one job per device, 4 KiB, queue
#   depth 4, every completion logged with its wall-clock time) and meanwhile does UPGRADES
#   `ddsetup upgrade` of the bundle that type lives in, alternating between the shipped jar and a
#   copy whose Bundle-Version is one micro higher. Then prints, per upgrade and overall, the
#   largest gap between two completions of one job that overlaps the upgrade (what a client
#   sees), the upgrade's own max stall report, fio's errors, and the BUNDLE_SWAPPED stall_ms
#   (goal: under 250 ms).
#
# Usage: bench/upgrade-stall.sh [--table linear|multipath] [--devices N] [--verify=crc32c] [UPGRADES]
#   --table linear      (default) each device linear over its own 64 MiB file; upgrades target-linear
#   --table multipath   each device a multipath map over 2 NBD paths (two nbdkit servers on loopback
#                       serving one 64 MiB file per device); upgrades target-multipath
#   --devices N         N devices (default 1), one fio job each
#   --verify=crc32c     fio writes (randwrite) and reads every block back, crc32c-checked, as it goes
#                       (verify_backlog); default: randrw, no verification
#   UPGRADES            default 20
# Everything runs in a temp dir on loopback (KEEP=1 keeps it, with the appliance's log, LOGLEVEL=debug
# logs more); the
# processes it starts are killed by pid.
# Prerequisites: fio (with its nbd engine), nbdkit for --table multipath, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TABLE=linear
NDEV=1
VERIFY=none
N=20
while (($#)); do
  case $1 in
    --table) TABLE=$2; shift 2 ;;
    --table=*) TABLE=${1#*=}; shift ;;
    --devices) NDEV=$2; shift 2 ;;
    --devices=*) NDEV=${1#*=}; shift ;;
    --verify) VERIFY=crc32c; shift ;;
    --verify=*) VERIFY=${1#*=}; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    [0-9]*) N=$1; shift ;;
    *) echo "unknown argument $1 (see --help)"; exit 2 ;;
  esac
done
case $TABLE in
  linear) BSN=org.ddmapper.target.linear ;;
  multipath) BSN=org.ddmapper.target.multipath; command -v nbdkit >/dev/null || { echo "--table multipath needs nbdkit"; exit 1; } ;;
  *) echo "--table must be linear or multipath"; exit 2 ;;
esac
[[ $VERIFY == none || $VERIFY == crc32c ]] || { echo "--verify must be crc32c"; exit 2; }
[[ $NDEV =~ ^[1-9][0-9]*$ ]] || { echo "--devices must be a positive number"; exit 2; }
command -v fio >/dev/null || { echo "fio is not installed"; exit 1; }

[[ -x $ROOT/runtime/target/ddmapper/bin/ddmapper ]] || mvn -q -o -DskipTests -pl runtime -am package
W=$(mktemp -d /tmp/ddmapper-bench-upgrade.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -n ${KEEP:-} ]]; then echo "kept $W (appliance log: $W/home/log)"; else rm -rf "$W"; fi
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cp -r "$ROOT/runtime/target/ddmapper" "$W/dist"
DIST=$W/dist
rm -f "$DIST"/etc/tables/*.table  # no demo device: only the bench's devices are upgraded
if [[ -n ${LOGLEVEL:-} ]]; then  # e.g. LOGLEVEL=debug (with KEEP=1) to time the phases of a swap in the log
  sed -i -E "s/^(level|writer2.level) *=.*/\1 = $LOGLEVEL/" "$DIST/etc/tinylog.properties"
fi
PORT=$(free_port)
# the devices come from boot tables (one ddsetup JVM per create would take minutes for 50)
MIB64=$((64 * 2048))
if [[ $TABLE == multipath ]]; then
  mkdir "$W/luns"
  for i in $(seq 1 "$NDEV"); do truncate -s 64M "$W/luns/lun$i"; done
  P1=$(free_port); P2=$(free_port)
  for p in $P1 $P2; do
    nbdkit --foreground --ipaddr 127.0.0.1 --port "$p" file dir="$W/luns" >"$W/nbdkit-$p.log" 2>&1 &
    PIDS+=($!)
  done
  for p in $P1 $P2; do
    for _ in $(seq 100); do nbdinfo --size "nbd://127.0.0.1:$p/lun1" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  for i in $(seq 1 "$NDEV"); do
    echo "0 $MIB64 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 nbd://127.0.0.1:$P1/lun$i 1 nbd://127.0.0.1:$P2/lun$i 1" \
      >"$DIST/etc/tables/d$i.table"
  done
else
  for i in $(seq 1 "$NDEV"); do
    truncate -s 64M "$W/d$i.img"
    echo "0 $MIB64 linear $W/d$i.img 0" >"$DIST/etc/tables/d$i.table"
  done
fi
"$DIST/bin/ddmapper" --no-console --http none --home "$W/home" --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
APP=$!; PIDS+=($APP)
for _ in $(seq 600); do grep -q 'ddmapper ready' "$W/appliance.log" && break; sleep 0.1; done
grep -q 'ddmapper ready' "$W/appliance.log" || { echo "appliance did not start:"; cat "$W/appliance.log"; exit 1; }
ddsetup() { "$DIST/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }
for _ in $(seq 100); do
  [[ $(ddsetup info | grep -c 'State: *ACTIVE') == "$NDEV" ]] && break; sleep 0.2
done
[[ $(ddsetup info | grep -c 'State: *ACTIVE') == "$NDEV" ]] || { echo "the $NDEV devices did not come up:"; ddsetup info; exit 1; }
SAMPLE=$(printf '%s\n' 1 $(((NDEV + 1) / 2)) "$NDEV" | sort -un)  # devices whose events are read (one ddsetup JVM per call)
event_nr() { ddsetup info "$1" | awk -F: '/Event number/ {gsub(/ /, "", $2); print $2}'; }
declare -A NR0
for i in $SAMPLE; do NR0[$i]=$(event_nr "d$i"); done

# the two jars: the shipped one and the same bundle one micro version up
JAR=$(python3 -c '
import sys, zipfile, glob
for j in sorted(glob.glob(sys.argv[1] + "/*.jar")):
    mf = zipfile.ZipFile(j).read("META-INF/MANIFEST.MF").decode()
    if any(l.startswith("Bundle-SymbolicName: " + sys.argv[2]) for l in mf.splitlines()): print(j)' "$DIST/bundle" "$BSN")
[[ -n $JAR ]] || { echo "no $BSN jar in $DIST/bundle"; exit 1; }
cp "$JAR" "$W/a.jar"
python3 - "$W/a.jar" "$W/b.jar" <<'PY'
import re, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    mf = zin.read("META-INF/MANIFEST.MF").decode()
    def bump(m):
        parts = m.group(2).split(".")
        parts[2] = str(int(parts[2]) + 1)
        return m.group(1) + ".".join(parts)
    zout.writestr("META-INF/MANIFEST.MF", re.sub(r"(?m)^(Bundle-Version: )(\S+)", bump, mf, count=1))
    for item in zin.infolist():
        if item.filename != "META-INF/MANIFEST.MF":
            zout.writestr(item, zin.read(item.filename))
PY

if [[ $VERIFY == crc32c ]]; then
  WORK=(--rw=randwrite --verify=crc32c --verify_backlog=64 --verify_fatal=1)
  WHAT="4 KiB randwrite + crc32c read-back"
else
  WORK=(--rw=randrw)
  WHAT="4 KiB randrw"
fi
JOBS=()
for i in $(seq 1 "$NDEV"); do JOBS+=(--name="d$i" --uri="nbd://127.0.0.1:$PORT/d$i"); done
echo "== $TABLE x $NDEV: fio $WHAT, qd 4, $NDEV job(s) over nbd://127.0.0.1:$PORT; $N upgrades of $BSN after 2 s"
# fio runs until stopped (SIGINT) 2 s after the last upgrade; its own exit then is 128 by design
(cd "$W" && exec fio --ioengine=nbd --thread --bs=4k --iodepth=4 --size=64m "${WORK[@]}" --verify_state_save=0 --time_based --runtime=3600 \
    --write_lat_log="$W/lat" --log_avg_msec=0 --log_unix_epoch=1 --eta=never \
    --output-format=json --output="$W/fio.json" "${JOBS[@]}" >/dev/null 2>"$W/fio.err") &
FIO=$!; PIDS+=($FIO)
sleep 2
kill -0 "$FIO" 2>/dev/null || { echo "fio ended early:"; cat "$W/fio.err"; exit 1; }
: >"$W/reports"; : >"$W/windows"; FAILED=0
for i in $(seq 1 "$N"); do
  if (( i % 2 )); then J=$W/b.jar; else J=$W/a.jar; fi
  t0=$(now_ms)
  if out=$(ddsetup upgrade "$BSN" "$J" 2>&1); then :; else FAILED=$((FAILED + 1)); fi
  t1=$(now_ms)
  echo "$t0 $t1 $out" >>"$W/windows"
  echo "$out" | tee -a "$W/reports" | sed "s/^/  $i: /"
done
sleep 2
if kill -0 "$FIO" 2>/dev/null; then
  kill -INT "$FIO"; wait "$FIO" || true
else
  wait "$FIO" && FIORC=0 || FIORC=$?
  echo "fio ended on its own before the upgrades did (exit $FIORC):"; cat "$W/fio.err"; exit 1
fi

python3 - "$W" "$N" "$FAILED" "$ROOT/bench/fio-gaps.py" <<'PY'
import importlib.util, json, re, sys, time
w, n, failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = importlib.util.spec_from_file_location("fio_gaps", sys.argv[4])
fio_gaps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fio_gaps)
windows = []
for line in open(w + "/windows"):
    a, b, rest = line.split(" ", 2)
    windows.append((int(a), int(b), rest.strip()))
# per upgrade: the largest gap between two consecutive completions of one job that overlaps [start, end],
# and when it began (wall clock, to line it up with the appliance's log)
overall, per, at, lat_max, completions, job_count = fio_gaps.gaps(w + "/lat", [(a, b) for a, b, _ in windows])
text = open(w + "/fio.json").read()
j = json.loads(text[text.index("{"):])
errors = sum(job.get("error", 0) for job in j["jobs"])
ios = sum(job["read"]["total_ios"] + job["write"]["total_ios"] for job in j["jobs"])
err_text = open(w + "/fio.err").read()
verify_errors = len(re.findall(r"verify|bad magic|crc32c", err_text))
reported = [int(m) for m in re.findall(r"max stall (\d+) ms", open(w + "/reports").read())]
print(f"completions logged: {completions} in {job_count} job(s) (fio total_ios {ios}, job errors {errors},"
      f" verify errors {verify_errors}, failed upgrades {failed})")
for k, (a, b, rest) in enumerate(windows):
    when = time.strftime("%H:%M:%S", time.localtime(at[k] / 1000)) + f".{at[k] % 1000:03d}"
    print(f"  upgrade {k + 1:2d}: took {b - a:5d} ms, largest completion gap {per[k]:4d} ms from {when}  [{rest}]")
print(f"largest completion gap during an upgrade: per upgrade {min(per)}-{max(per)} ms, max {max(per)} ms")
print(f"largest completion gap over the whole run: {overall} ms; largest completion latency {lat_max / 1e6:.1f} ms")
print(f"upgrade reports' max stall: {min(reported) if reported else '-'}-{max(reported) if reported else '-'} ms")
if err_text.strip():
    print("fio stderr:", err_text.strip().replace("\n", " | ")[:2000])
PY
STALLS=""
for i in $SAMPLE; do
  NR=$(event_nr "d$i")
  # events prints the remembered history (the last 256) oldest first: keep those numbered after the upgrades began
  STALLS+=" $(ddsetup events "d$i" --count $((NR < 256 ? NR : 256)) | awk -v from="${NR0[$i]}" '$2 > from && $3 == "bundle_swapped"' \
    | sed -E 's/.*stall_ms=([0-9]+).*/\1/' | tr '\n' ' ')"
done
python3 -c '
import sys
v = [int(x) for x in sys.argv[1].split()]
print(f"BUNDLE_SWAPPED during the upgrades on {sys.argv[2]}: {len(v)} events, stall_ms {min(v) if v else 0}-{max(v) if v else 0}")' \
  "$STALLS" "$(printf 'd%s ' $SAMPLE)"
ddsetup status d1
kill -TERM "$APP"; for _ in $(seq 100); do kill -0 "$APP" 2>/dev/null || break; sleep 0.1; done
