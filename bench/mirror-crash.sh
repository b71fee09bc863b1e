#!/usr/bin/env bash
# kill -9 loop through a mirror (a correctness run, not a speed one; run it whenever):
# the appliance (runtime/target/ddmapper) serves a 2-leg mirror with a disk log over files;
# each cycle boots it from the same home (the mirror comes back from its saved state), waits for
# the resync, checks that both legs are equal and hold every write qemu-io saw acknowledged, then
# starts 40 FUA writes of 64 KiB (qemu-io over NBD, one value per write) and kills the appliance
# with SIGKILL 50-450 ms into them. The one write in flight at the kill may or may not be there.
# Usage: bench/mirror-crash.sh [CYCLES]   (default 100). Temp dir, loopback, pids killed on exit.
# Prerequisites: qemu-io (qemu-utils), python3. The same check runs 3 cycles in the suite
# (tests/.../it/mirror/MirrorCrashTest).
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-100}
[[ -x runtime/target/ddmapper/bin/ddmapper ]] || mvn -q -o -DskipTests -pl runtime -am package
W=$(mktemp -d /tmp/ddmapper-bench-mirror-crash.XXXXXX)
# a copy of the distribution (bin, lib, bundle, etc): a build meanwhile does not pull it from under the loop
DIST=$W/dist
mkdir "$DIST" && cp -r runtime/target/ddmapper/{bin,lib,bundle,etc} "$DIST"/
APP=
cleanup() { local rc=$?; [[ -n $APP ]] && kill -9 "$APP" 2>/dev/null || true; if [[ $rc == 0 ]]; then rm -rf "$W"; else echo "kept $W for a look"; fi; }
trap cleanup EXIT

BLOCKS=256; SECTORS=$((BLOCKS * 128))     # 256 blocks of 64 KiB = 16 MiB, 32 regions of 512 KiB
truncate -s 16M "$W/a.img" "$W/b.img"; truncate -s 4K "$W/log.img"
TABLE="0 $SECTORS mirror disk 2 $W/log.img 1024 2 $W/a.img 0 $W/b.img 0 1 handle_errors"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
boot() {
  PORT=$(free_port)
  DDMAPPER_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" "$DIST/bin/ddmapper" --no-console --http none --home "$W/home" \
      --nbd "127.0.0.1:$PORT" >"$W/appliance.log" 2>&1 &
  APP=$!
  for _ in $(seq 600); do grep -q 'ddmapper ready' "$W/appliance.log" && return 0; sleep 0.1; done
  echo "appliance did not start:"; cat "$W/appliance.log"; exit 1
}
ddsetup() { "$DIST/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }
in_sync() {
  for _ in $(seq 1200); do ddsetup status m 2>/dev/null | grep -q " 32/32 1 AA " && return 0; sleep 0.1; done
  echo "not in sync after 120 s: $(ddsetup status m 2>&1)"; exit 1
}
# state.json: per block the acknowledged value and the values a write in flight at a kill may have left
py() { python3 - "$W" "$@"; }
echo '{"acked": {}, "maybe": {}}' > "$W/state.json"

killed_in_flight=0
start=$(date +%s)
for c in $(seq 0 "$CYCLES"); do
  boot
  [[ $c == 0 ]] && ddsetup create m --table "$TABLE"
  in_sync
  py "$c" <<'PY'
import json, sys
w, cycle = sys.argv[1], sys.argv[2]
a, b = open(w + "/a.img", "rb").read(), open(w + "/b.img", "rb").read()
if a != b:
    sys.exit(f"cycle {cycle}: the legs differ after the resync")
s = json.load(open(w + "/state.json"))
for blk, v in s["acked"].items():
    data = a[int(blk) * 65536:(int(blk) + 1) * 65536]
    allowed = {v} | set(s["maybe"].get(blk, []))
    if not any(data == bytes([x]) * 65536 for x in allowed) and not s["maybe"].get(blk):
        sys.exit(f"cycle {cycle}: block {blk} lost its acknowledged value {v}")
PY
  if [[ $c == "$CYCLES" ]]; then kill -TERM "$APP"; wait "$APP" || true; APP=; break; fi
  mapfile -t ARGS < <(py "$c" <<'PY'
import json, random, sys
w, cycle = sys.argv[1], int(sys.argv[2])
rnd = random.Random(cycle)
plan = [(rnd.randrange(256), (cycle * 40 + i) % 250 + 1) for i in range(40)]
json.dump(plan, open(w + "/plan.json", "w"))
for blk, v in plan:
    print("-c"); print(f"write -f -P {v} {blk * 65536} 64k")
PY
)
  qemu-io -f raw "nbd://127.0.0.1:$PORT/m" "${ARGS[@]}" >"$W/qemu-io.out" 2>&1 &
  CLIENT=$!
  sleep "0.$(printf '%02d' $((5 + RANDOM % 40)))"
  kill -9 "$APP"; wait "$APP" 2>/dev/null || true; APP=
  wait "$CLIENT" || true
  n=$(py <<'PY'
import json, re, sys
w = sys.argv[1]
s = json.load(open(w + "/state.json"))
plan = json.load(open(w + "/plan.json"))
# qemu-io runs its commands in order: the first n writes were acknowledged, the next one was in flight
n = len(re.findall(r"wrote \d+/\d+ bytes at offset \d+", open(w + "/qemu-io.out").read()))
for blk, v in plan[:n]:
    s["acked"][str(blk)] = v
    s["maybe"].pop(str(blk), None)
inflight = 0
if n < len(plan):
    blk, v = plan[n]
    s["maybe"].setdefault(str(blk), []).append(v)
    inflight = 1
json.dump(s, open(w + "/state.json", "w"))
print(inflight)
PY
)
  killed_in_flight=$((killed_in_flight + n))
  (( c % 10 == 0 )) && echo "cycle $c: ok ($(( $(date +%s) - start )) s)"
done
acked=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["acked"]))' "$W/state.json")
echo "mirror crash loop: $CYCLES cycles of kill -9 during FUA writes, $killed_in_flight with a write in flight;" \
     "after every restart the legs were equal and all $acked acknowledged blocks held their value ($(( $(date +%s) - start )) s)"
