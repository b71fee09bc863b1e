#!/usr/bin/env bash
# What a `reconnect_path` with a passed socket costs (issue 24): on a path that already failed and on
# one that is still active, with no I/O running. Boots DIST's appliance in a fresh home (NBD on a free port),
# two nbdkit servers on free loopback ports exporting one 64 MiB file, and a multipath map "m" over
# them (path 1 and path 2); then RUNS times each:
#   failed   fail_path 1, then `ddsetup message m @0 reconnect_path 1 --pass-connect` (timed)
#   active   the same on path 1 while it is active (timed)
#   after-io the same after 8 MiB written and read through the map's NBD export
#   client-idle  the same while an NBD client holds the export open, idle
# through bin/ddsetup (whose descriptor passing runs the Java client, bin/ddsetup-java), and RUNS times
# through the cluster hook bin/ddmapper-reconnect (native ddsetup for the table, python3 for the pass).
# Prints every try in ms, the medians, and the load average.
#
# Usage: bench/reconnect-path.sh [DIST] [RUNS]   (DIST default runtime/target/ddmapper, RUNS default 6)
# Needs nbdkit. Everything runs in a temp dir on loopback and is killed by pid at the end.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
dist=$(cd "${1:-$root/runtime/target/ddmapper}" && pwd -P)
runs=${2:-6}
work=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-reconnect.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

truncate -s 64M "$work/lun.img"
ports=()
for _ in 1 2; do
  port=$(free_port)
  nbdkit --foreground --ipaddr 127.0.0.1 --port "$port" file "$work/lun.img" 2>>"$work/nbdkit.err" &
  pids+=($!)
  ports+=("$port")
done
"$dist/bin/ddmapper" --no-console --home "$work/home" --nbd "127.0.0.1:$(free_port)" --http none </dev/null >"$work/out" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q '^ddmapper ready:' "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ddmapper ready:' "$work/out" || { cat "$work/out" >&2; exit 1; }
ddsetup() { "$dist/bin/ddsetup" --socket "$work/home/run/control.sock" "$@"; }
ddsetup create m --table "0 131072 multipath 0 0 1 1 round-robin 0 2 1 nbd://127.0.0.1:${ports[0]}/ 1 nbd://127.0.0.1:${ports[1]}/ 1"

# try MODE: one timed reconnect_path of path 1 (after fail_path 1 when MODE is failed); prints ms
try() {
  local t0
  [ "$1" = failed ] && ddsetup message m @0 fail_path 1  # every other mode: path 1 is active
  t0=$(date +%s%N)
  ddsetup message m @0 reconnect_path 1 --pass-connect "127.0.0.1:${ports[0]}" >/dev/null
  ms_since "$t0"
}
nbd=$(sed -n 's/^ddmapper ready: nbd=\([^ ]*\).*/\1/p' "$work/out")
for mode in failed active after-io client-idle; do
  case $mode in
    after-io) qemu-io -f raw "nbd://$nbd/m" -c 'write -P 7 0 8M' -c 'read -P 7 0 8M' >/dev/null ;;
    client-idle)  # an NBD client connected to the map's export, idle, through the reconnects
      PATH=/usr/bin:$PATH nbdsh -u "nbd://$nbd/m" -c 'h.pread(4096, 0)' -c 'import time; time.sleep(100000)' &
      pids+=($!)
      sleep 1 ;;
  esac
  all=
  for _ in $(seq "$runs"); do all="$all $(try "$mode")"; done
  echo "$mode:$all ms; median $(echo "$all" | median) ms"
done
ddsetup status m | grep -q ' A ' || { echo "path 1 is not active after the reconnects" >&2; exit 1; }
all=
for _ in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$dist/bin/ddmapper-reconnect" --socket "$work/home/run/control.sock" m "nbd://127.0.0.1:${ports[0]}/" "127.0.0.1:${ports[0]}" >/dev/null
  all="$all $(ms_since "$t0")"
done
echo "hook (bin/ddmapper-reconnect, active path):$all ms; median $(echo "$all" | median) ms"
t0=$(date +%s%N)
ddsetup version >/dev/null
echo "ddsetup version (the CLI's own start): $(ms_since "$t0") ms"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
