#!/usr/bin/env bash
# The five-minute demo: what the appliance is for, shown live in a scratch home.
#
#   failover    a multipath map over two NBD path servers (nbdkit) of one file; a client writes and
#               reads back through our NBD export while path 2's server is killed and restarted:
#               the client goes on, the path fails (PATH_FAILED) and comes back (PATH_REINSTATED).
#   --mirror    a two-leg mirror (a local file and a remote leg behind nbdkit, disk log,
#               handle_errors): the remote leg's server is killed under writes (MIRROR_LEG_FAILED),
#               brought back and reloaded; the resync copies only what it missed, with progress.
#   --snapshot  a snapshot of a live origin, taken under writes: it must hold the origin exactly as
#               it was at that moment, while the origin goes on changing.
#
# Usage: examples/failover-demo.sh [--mirror] [--snapshot] [--all] [--keep]
#   --all    all three parts        --keep   keep the scratch directory (its logs) at the end
# Needs: the build (./ddmapper makes it), nbdkit, nbdinfo, qemu-io, nbdcopy, python3.
# Prints one narrated line per step (`==>`), a status line per second while something happens
# (client | paths, legs or COW), a `RESULT` line per part; exit 0 when every part showed what it should, 1 otherwise. Everything
# runs in a temp directory (TMPDIR) on loopback with free ports; every process it starts is
# stopped by pid on exit, on an error and on Ctrl-C (`stopped pid N` lines say so).
set -uo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P) || exit 1
MIRROR=no SNAPSHOT=no KEEP=no
for a in "$@"; do
  case $a in
    --mirror) MIRROR=yes ;;
    --snapshot) SNAPSHOT=yes ;;
    --all) MIRROR=yes SNAPSHOT=yes ;;
    --keep) KEEP=yes ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "failover-demo: unknown argument '$a' (see --help)" >&2; exit 64 ;;
  esac
done
for tool in nbdkit nbdinfo qemu-io nbdcopy python3; do
  command -v "$tool" >/dev/null || { echo "failover-demo: needs $tool (./run-tests installs it as root)" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-demo.XXXXXX") || exit 1
declare -A PIDS=()      # pid -> what it is
FAILED=()
say() { printf '==> %s\n' "$*"; }
started() { PIDS[$1]=$2; echo "    (started $2, pid $1)"; }
stop_pid() { # pid [signal]: TERM (or the signal), then KILL after 5 s; waits for it
  local p=$1
  kill -0 "$p" 2>/dev/null && kill -"${2:-TERM}" "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  echo "    stopped pid $p (${PIDS[$p]})"
  unset "PIDS[$p]"
}
cleanup() {
  trap - EXIT INT TERM
  touch "$W/client.stop" 2>/dev/null
  local p
  for p in "${!PIDS[@]}"; do   # the client ends its round, then sees client.stop
    [[ ${PIDS[$p]} == client* ]] || continue
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$p"
  done
  for p in "${!PIDS[@]}"; do stop_pid "$p"; done
  if [[ $KEEP == yes ]]; then echo "    kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo; say "interrupted: cleaning up"; exit 130' INT TERM
fail() { FAILED+=("$1"); echo "RESULT $1: FAILED: $2"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # seconds, command...: true once the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
ddsetup() { "$ROOT/runtime/target/ddmapper/bin/ddsetup" --socket "$W/home/run/control.sock" "$@"; }
path_server() { # name port: an nbdkit file server of $W/luns/ on 127.0.0.1:port
  nbdkit --foreground --exit-with-parent --ipaddr 127.0.0.1 --port "$2" file dir="$W/luns" >>"$W/nbdkit-$1.log" 2>&1 &
  started $! "nbdkit $1 on port $2"
  wait_for 10 nbdinfo --size "nbd://127.0.0.1:$2/$1"
}

# The client: rounds of "write 1 MiB of a round's pattern to slot (round mod 16), read it back and
# check the pattern", through our NBD export; each slot's last pattern is kept for the final check.
client_start() { # export
  rm -f "$W/client.stop" "$W/client.progress" "$W/client.errors"
  (
    round=0 errors=0
    while [[ ! -e $W/client.stop ]]; do
      slot=$((round % 16)) pat=$((round % 250 + 1))
      out=$(qemu-io -f raw "nbd://127.0.0.1:$PORT/$1" -c "write -P $pat $((slot << 20)) 1M" \
            -c "read -P $pat $((slot << 20)) 1M" 2>&1)
      if [[ $? -ne 0 || $out == *[Ff]ail* || $out == *rror* ]]; then
        errors=$((errors + 1)); echo "round $round: $out" >>"$W/client.errors"
      fi
      echo "$pat" >"$W/client.slot.$slot"
      round=$((round + 1))
      echo "$round $errors" >"$W/client.progress.tmp" && mv "$W/client.progress.tmp" "$W/client.progress"
    done
  ) &
  started $! "client writing and verifying through nbd://127.0.0.1:$PORT/$1"
  CLIENT=$!
}
client_line() { local r=0 e=0; [[ -f $W/client.progress ]] && read -r r e <"$W/client.progress"; echo "client: $r MiB written and read back, $e errors"; }
client_stop() { # export: stops the client, reads every slot back once more; sets CLIENT_ROUNDS, CLIENT_ERRORS
  touch "$W/client.stop"; wait "$CLIENT" 2>/dev/null; echo "    stopped pid $CLIENT (${PIDS[$CLIENT]})"; unset "PIDS[$CLIENT]"
  read -r CLIENT_ROUNDS CLIENT_ERRORS <"$W/client.progress"
  local args=() s
  for s in $(seq 0 15); do [[ -f $W/client.slot.$s ]] && args+=(-c "read -P $(cat "$W/client.slot.$s") $((s << 20)) 1M"); done
  local out; out=$(qemu-io -f raw "nbd://127.0.0.1:$PORT/$1" "${args[@]}" 2>&1)
  if [[ $? -ne 0 || $out == *[Ff]ail* || $out == *rror* ]]; then
    CLIENT_ERRORS=$((CLIENT_ERRORS + 1)); echo "final check: $out" >>"$W/client.errors"
  fi
  [[ -f $W/client.errors ]] && sed 's/^/    client: /' "$W/client.errors" | head -5
  say "client stopped: $CLIENT_ROUNDS rounds, every slot read back again: $CLIENT_ERRORS errors"
}
show_until() { # seconds, status-function, [until-command]: one line per second, client | what the function prints
  local deadline=$((SECONDS + $1)) t0=$SECONDS
  while ((SECONDS < deadline)); do
    printf '    [%3ds] %s | %s\n' $((SECONDS - t0)) "$(client_line)" "$($2)"
    [[ -n ${3:-} ]] && eval "$3" >/dev/null 2>&1 && return 0
    sleep 1
  done
  [[ -z ${3:-} ]]
}

say "scratch directory $W; building and booting the appliance there (NBD on a free port)"
"$ROOT/runtime/build-if-stale" || { echo "failover-demo: the build failed" >&2; exit 1; }
mkdir -p "$W/luns"
"$ROOT/runtime/target/ddmapper/bin/ddmapper" --no-console --home "$W/home" --nbd 127.0.0.1:0 --http none >"$W/appliance.log" 2>&1 &
started $! "appliance"
wait_for 120 grep -q '^ddmapper ready' "$W/appliance.log" || { cat "$W/appliance.log" >&2; exit 1; }
PORT=$(sed -n 's/^ddmapper ready: nbd=127.0.0.1:\([0-9]*\) .*/\1/p' "$W/appliance.log")
say "$(grep '^ddmapper ready' "$W/appliance.log")"

# ---------------------------------------------------------------- failover
say "failover: one 16 MiB file served twice, by two nbdkit path servers (two paths to one LUN)"
truncate -s 16M "$W/luns/lun"
P1=$(free_port) P2=$(free_port)
path_server lun "$P1"; path_server lun "$P2"
NBDKIT2=$(for p in "${!PIDS[@]}"; do [[ ${PIDS[$p]} == *"port $P2" ]] && echo "$p"; done)
TABLE="0 32768 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 nbd://127.0.0.1:$P1/lun 1 nbd://127.0.0.1:$P2/lun 1"
say "ddsetup create mp --table \"$TABLE\""
ddsetup create mp --table "$TABLE" || exit 1
ddsetup multipath -ll mp | sed 's/^/    /'
"$ROOT/runtime/target/ddmapper/bin/ddsetup" --socket "$W/home/run/control.sock" events mp >"$W/events.mp" 2>&1 &
started $! "ddsetup events mp (following the map's events)"
paths_line() { ddsetup multipath show paths mp | awk 'NR > 1 { printf "path %s %s/%s  ", $2, $5, $6 }'; }
say "a client writes 1 MiB rounds to nbd://127.0.0.1:$PORT/mp and reads each back"
client_start mp
show_until 3 paths_line
say "killing path 2's server (kill -9 $NBDKIT2): I/O on it fails and goes down path 1"
stop_pid "$NBDKIT2" KILL
show_until 30 paths_line 'grep -qi PATH_FAILED "$W/events.mp"' || fail failover "path 2 was never failed"
show_until 4 paths_line
say "restarting path 2's server on the same port: the path monitor's next check reinstates it"
path_server lun "$P2"
show_until 60 paths_line 'grep -qi PATH_REINSTATED "$W/events.mp"' || fail failover "path 2 never came back"
show_until 2 paths_line
client_stop mp
say "ddsetup multipath -ll mp, and the map's events:"
ddsetup multipath -ll mp | sed 's/^/    /'
grep -iE 'PATH_(FAILED|REINSTATED)' "$W/events.mp" | sed 's/^/    /'
if ((CLIENT_ERRORS == 0)) && grep -qi PATH_FAILED "$W/events.mp" && grep -qi PATH_REINSTATED "$W/events.mp" &&
   [[ $(paths_line) == *"path 2 active/ready"* ]]; then
  echo "RESULT failover: OK: client $CLIENT_ROUNDS rounds verified, 0 errors; path 2 failed and came back"
else
  fail failover "client errors $CLIENT_ERRORS; paths: $(paths_line)"
fi

# ---------------------------------------------------------------- mirror
if [[ $MIRROR == yes ]]; then
  say "mirror: leg 0 a local file, leg 1 a remote LUN behind nbdkit, a disk log, handle_errors"
  truncate -s 16M "$W/leg0.img" "$W/luns/leg1"; truncate -s 1M "$W/mirror.log"
  P3=$(free_port)
  path_server leg1 "$P3"
  LEG1=$(for p in "${!PIDS[@]}"; do [[ ${PIDS[$p]} == *"port $P3" ]] && echo "$p"; done)
  MTABLE="0 32768 mirror disk 2 $W/mirror.log 64 2 $W/leg0.img 0 nbd://127.0.0.1:$P3/leg1 0 1 handle_errors"
  say "ddsetup create m --table \"$MTABLE\""
  ddsetup create m --table "$MTABLE" || exit 1
  in_sync() { ddsetup status m | grep -qE ' ([0-9]+)/\1 1 AA '; }
  wait_for 30 in_sync
  "$ROOT/runtime/target/ddmapper/bin/ddsetup" --socket "$W/home/run/control.sock" events m >"$W/events.m" 2>&1 &
  started $! "ddsetup events m"
  legs_line() { local s; s=$(ddsetup status m); set -- $s; echo "regions in sync $7, leg states $9"; }
  client_start m
  show_until 2 legs_line
  say "killing leg 1's server (kill -9 $LEG1): its writes fail, the mirror goes on with leg 0"
  stop_pid "$LEG1" KILL
  show_until 30 legs_line 'grep -qi MIRROR_LEG_FAILED "$W/events.m"' || fail mirror "leg 1 was never failed"
  show_until 3 legs_line
  say "restarting leg 1's server; reloading the same table reconnects it and resyncs what it missed"
  path_server leg1 "$P3"
  ddsetup load m --table "$MTABLE" && ddsetup resume m || fail mirror "reload refused"
  say "resync limited to 2 MiB/s so it can be watched: ddsetup message m 0 resync_rate 2048"
  ddsetup message m 0 resync_rate 2048
  show_until 60 legs_line in_sync || fail mirror "no resync to the end"
  client_stop m
  wait_for 30 in_sync
  ddsetup suspend m && ddsetup resume m   # a suspend flushes both legs
  say "ddsetup mirror m, and the mirror's events:"
  ddsetup mirror m | sed 's/^/    /'
  grep -i 'MIRROR_' "$W/events.m" | sed 's/^/    /'
  if ((CLIENT_ERRORS == 0)) && grep -qi MIRROR_LEG_FAILED "$W/events.m" && grep -qi MIRROR_RECOVERY_COMPLETE "$W/events.m" &&
     cmp -s "$W/leg0.img" "$W/luns/leg1"; then
    echo "RESULT mirror: OK: client $CLIENT_ROUNDS rounds verified, 0 errors; leg 1 failed, came back and resynced; legs equal"
  else
    fail mirror "client errors $CLIENT_ERRORS; $(legs_line); legs $(cmp -s "$W/leg0.img" "$W/luns/leg1" && echo equal || echo differ)"
  fi
fi

# ---------------------------------------------------------------- snapshot
if [[ $SNAPSHOT == yes ]]; then
  say "snapshot: an origin device (snapshot-origin over base.img) with a client writing to it"
  truncate -s 16M "$W/base.img"; truncate -s 32M "$W/cow.img"   # a COW larger than the origin never fills
  ddsetup create base --table "0 32768 snapshot-origin $W/base.img" || exit 1
  client_start base
  snap_line() { ddsetup snapshots snap 2>/dev/null | awk 'NR > 1 { printf "snapshot of %s: COW %s%% used, %s", $2, $6, $7 }'; }
  show_until 3 true
  say "taking the snapshot under writes: suspend base (writes wait), keep a copy of base.img as the reference, create snap, resume"
  ddsetup suspend base && cp --sparse=always "$W/base.img" "$W/reference.img" &&
    ddsetup create snap --table "0 32768 snapshot $W/base.img $W/cow.img P 8" && ddsetup resume base ||
    fail snapshot "could not take the snapshot"
  say "the client goes on writing to base; each first write of a chunk copies it out to snap's COW"
  show_until 4 snap_line
  client_stop base
  ddsetup snapshots | sed 's/^/    /'
  nbdcopy "nbd://127.0.0.1:$PORT/snap" "$W/snap.copy" && nbdcopy "nbd://127.0.0.1:$PORT/base" "$W/base.copy" ||
    fail snapshot "nbdcopy failed"
  changed=$(cmp -l "$W/base.copy" "$W/snap.copy" 2>/dev/null | wc -l)
  say "snap read over NBD against the reference: $(cmp -s "$W/snap.copy" "$W/reference.img" && echo identical || echo DIFFERENT); base differs from snap in $changed bytes"
  if ((CLIENT_ERRORS == 0)) && cmp -s "$W/snap.copy" "$W/reference.img" && ((changed > 0)); then
    echo "RESULT snapshot: OK: snapshot matches the origin as it was when taken; origin changed since in $changed bytes"
  else
    fail snapshot "client errors $CLIENT_ERRORS; snapshot $(cmp -s "$W/snap.copy" "$W/reference.img" && echo matches || echo "does not match"); origin changed $changed bytes"
  fi
fi

say "done; stopping everything this demo started"
((${#FAILED[@]} == 0)) || { echo "failover-demo: failed: ${FAILED[*]}"; exit 1; }
exit 0
