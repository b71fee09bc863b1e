#!/usr/bin/env bash
# Live-upgrade stall: the longest pause an NBD client sees while target-linear is upgraded under it.
#   Boots the appliance from a copy of the distribution (an upgrade rewrites bundle/), creates a
#   linear device over a file, runs fio over NBD (4 KiB randrw, queue depth 4, every completion
#   logged) and meanwhile does N `ddsetup upgrade org.ddmapper.target.linear` alternating between
#   the shipped jar and a copy whose Bundle-Version is one micro higher. Prints the largest gap
#   between two completions, the largest completion latency, fio's errors, and the stall_ms of
#   each BUNDLE_SWAPPED event (goal: under 250 ms).
# Usage: bench/upgrade-stall.sh [N]   (default 20). Everything in a temp dir; processes killed by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-20}
BSN=org.ddmapper.target.linear
[[ -x $ROOT/runtime/target/ddmapper/bin/ddmapper ]] || mvn -q -o -DskipTests -pl runtime -am package
W=$(mktemp -d /tmp/ddmapper-bench-upgrade.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

cp -r "$ROOT/runtime/target/ddmapper" "$W/dist"
DIST=$W/dist
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$DIST/bin/ddmapper" --no-console --home "$W/home" --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
APP=$!; PIDS+=($APP)
for _ in $(seq 600); do grep -q 'ddmapper ready' "$W/appliance.log" && break; sleep 0.1; done
grep -q 'ddmapper ready' "$W/appliance.log" || { echo "appliance did not start:"; cat "$W/appliance.log"; exit 1; }
ddsetup() { "$DIST/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }

truncate -s 256M "$W/disk.img"
ddsetup create v0 --table "0 $((256 * 2048)) linear $W/disk.img 0"

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

RUNTIME=$((N * 2 + 6))
echo "== fio 4 KiB randrw qd 4 over nbd://127.0.0.1:$PORT/v0 for ${RUNTIME}s; $N upgrades of $BSN after 2 s"
fio --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/v0" --name=u --rw=randrw --bs=4k --iodepth=4 --time_based --runtime=$RUNTIME \
    --write_lat_log="$W/lat" --log_avg_msec=0 --output-format=json --output="$W/fio.json" >/dev/null 2>"$W/fio.err" &
FIO=$!; PIDS+=($FIO)
sleep 2
: >"$W/reports"
for i in $(seq 1 "$N"); do
  if (( i % 2 )); then J=$W/b.jar; else J=$W/a.jar; fi
  ddsetup upgrade "$BSN" "$J" | tee -a "$W/reports" | sed "s/^/  $i: /"
done
wait "$FIO" || { echo "fio failed:"; cat "$W/fio.err"; exit 1; }

python3 - "$W" <<'PY'
import glob, json, re, sys
w = sys.argv[1]
times, lats = [], []
for f in glob.glob(w + "/lat_clat.*.log"):
    for line in open(f):
        p = [x.strip() for x in line.split(",")]
        if len(p) >= 2:
            times.append(int(p[0])); lats.append(int(p[1]))
times.sort()
gap = max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 0
j = json.load(open(w + "/fio.json"))["jobs"][0]
errors = j.get("error", 0)
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
stalls = [int(m) for m in re.findall(r"max stall (\d+) ms", open(w + "/reports").read())]
print(f"completions logged: {len(times)} (fio total_ios {ios}, error {errors})")
print(f"largest gap between two completions: {gap} ms")
print(f"largest completion latency: {max(lats) / 1e6 if lats else 0:.1f} ms")
print(f"upgrade reports: {len(stalls)}, max stall per report (ms): {stalls}")
PY
NR=$(ddsetup info v0 | awk -F: '/Event number/ {gsub(/ /, "", $2); print $2}')
echo "BUNDLE_SWAPPED stall_ms on v0: $(ddsetup events v0 --count "$NR" | grep bundle_swapped | sed -E 's/.*stall_ms=([0-9]+).*/\1/' | tr '\n' ' ')"
ddsetup status v0
kill -TERM "$APP"; for _ in $(seq 100); do kill -0 "$APP" 2>/dev/null || break; sleep 0.1; done
