#!/bin/bash
# bench/snapshot.sh — ddmapper's snapshots against a plain linear device and against qemu-nbd
# serving a qcow2 overlay on a raw backing file (the usual user-space alternative), same machine,
# same fio --ioengine=nbd over TCP, same run.
#
# Workloads (each on fresh devices where "first" matters; the servers take turns every round):
#   first-1       64 KiB sequential writes at queue depth 4 to an origin with 1 snapshot, every
#                 chunk written for the first time (each one copied out first)
#   first-4       the same with 4 snapshots of the origin
#   rewrite-seq   the same writes again (every chunk copied already: no copy-out)
#   rewrite-rand  4 KiB random writes at queue depth 16 over those copied chunks (--seconds)
#   read-seq      64 KiB sequential reads of a snapshot whose chunks are all unchanged (read from
#                 the origin) at queue depth 4
#   read-rand     4 KiB random reads of it at queue depth 16 (--seconds)
# Peers: "linear" is a linear mapped device over a copy of the origin (first = plain writes);
# "qcow2" is qemu-nbd (writeback cache, aio threads) over a fresh qcow2 overlay (64 KiB clusters)
# on a copy of the origin: its first writes allocate clusters, its reads fall through to the
# backing file.
#
# Prints MB/s and IOPS per workload and server (mean over rounds), the ratios, and PASS/FAIL for
# the goals: read-seq and read-rand >= 0.9 x linear; rewrite-seq and rewrite-rand >= 0.9 x linear;
# first-1 >= 0.5 x linear and faster than qcow2's first writes.
#
# Usage: bench/snapshot.sh [--size-mib N] [--rounds N] [--seconds N] [--chunk SECTORS] [--keep]
# Run it on a quiet machine (uptime's 1-minute load below 1): the numbers mean nothing otherwise.
set -euo pipefail

size_mib=512
rounds=3
seconds=10
chunk=32
keep=no
while [ $# -gt 0 ]; do
    case "$1" in
        --size-mib) size_mib=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --chunk) chunk=$2; shift 2 ;;
        --keep) keep=yes; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "snapshot bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
dist=$repo/runtime/target/ddmapper
for tool in fio qemu-nbd qemu-img python3; do
    command -v "$tool" >/dev/null || { echo "snapshot bench: $tool is not installed" >&2; exit 1; }
done
[ -x "$dist/bin/ddmapper" ] || (cd "$repo" && mvn -q -o -DskipTests package -pl runtime -am)

work=$(mktemp -d /tmp/snapshot-bench.XXXXXX)
app_pid= qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && { kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; }
    if [ -n "$app_pid" ]; then kill -TERM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
    if [ "$keep" = no ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
sectors=$((size_mib * 2048))
echo "== $size_mib MiB origin of random data, chunk $chunk sectors, $rounds rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
dd if=/dev/urandom of="$work/pristine.img" bs=1M count="$size_mib" status=none

port=$(free_port)
"$dist/bin/ddmapper" --no-console --http none --home "$work/home" --nbd "127.0.0.1:$port" > "$work/ddmapper.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 120); do grep -q '^ddmapper ready' "$work/ddmapper.log" && break; sleep 0.5; done
grep -q '^ddmapper ready' "$work/ddmapper.log" || { cat "$work/ddmapper.log" >&2; exit 1; }
dd() { "$dist/bin/ddsetup" --socket "$work/home/run/control.sock" "$@"; }
uri() { echo "nbd://127.0.0.1:$port/$1"; }

# fio over NBD (its nbd engine prints a line before the JSON); prints "MBps IOPS"
fio_run() { # uri rw bs depth [time]
    local extra=(--size="${size_mib}m")
    [ "${5:-}" = time ] && extra=(--time_based --runtime="$seconds" --size="${size_mib}m")
    fio --ioengine=nbd --uri="$1" --name=b --rw="$2" --bs="$3" --iodepth="$4" "${extra[@]}" --output-format=json 2>/dev/null |
        python3 -c 'import json,sys; t=sys.stdin.read(); j=json.loads(t[t.index("{"):])["jobs"][0]; d=j["write"] if j["write"]["io_bytes"] else j["read"]; print("%.1f %.0f" % (d["bw"]*1024/1e6, d["iops"]))'
}

fresh_snapshots() { # n: origin + n snapshots on fresh files, device base (origin) and s1..sn
    for d in base s1 s2 s3 s4; do dd remove "$d" >/dev/null 2>&1 || true; done
    cp "$work/pristine.img" "$work/origin.img"
    for i in $(seq 1 "$1"); do
        rm -f "$work/cow$i.img"; truncate -s $((size_mib + size_mib / 8 + 4))M "$work/cow$i.img"
        dd create "s$i" --table "0 $sectors snapshot $work/origin.img $work/cow$i.img P $chunk"
    done
    dd create base --table "0 $sectors snapshot-origin $work/origin.img"
}
fresh_linear() {
    dd remove lin >/dev/null 2>&1 || true
    cp "$work/pristine.img" "$work/linear.img"
    dd create lin --table "0 $sectors linear $work/linear.img 0"
}
fresh_qcow2() {
    [ -n "$qemu_pid" ] && { kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=; }
    cp "$work/pristine.img" "$work/backing.img"
    rm -f "$work/overlay.qcow2"
    qemu-img create -q -f qcow2 -o cluster_size=65536 -b "$work/backing.img" -F raw "$work/overlay.qcow2"
    qport=$(free_port)
    qemu-nbd --image-opts "driver=qcow2,file.driver=file,file.filename=$work/overlay.qcow2,file.aio=threads,cache.direct=off" \
        --persistent --shared=8 -x q -b 127.0.0.1 -p "$qport" > "$work/qemu.log" 2>&1 &
    qemu_pid=$!
    wait_port "$qport"
}

declare -A sum
add() { sum[$1]=$(python3 -c "print(${sum[$1]:-0} + $2)"); }
record() { # workload server "MBps IOPS"
    set -- "$1" "$2" $3
    add "$1,$2,mb" "$3"; add "$1,$2,iops" "$4"
    printf '   %-13s %-9s %8.1f MB/s %9.0f IOPS\n' "$1" "$2" "$3" "$4"
}

for r in $(seq 1 "$rounds"); do
    echo "== round $r"
    order=(snapshot linear qcow2)
    order=("${order[@]:$(( (r - 1) % 3 ))}" "${order[@]:0:$(( (r - 1) % 3 ))}")
    for s in "${order[@]}"; do
        case $s in
            snapshot)
                fresh_snapshots 1
                record first-1 snapshot "$(fio_run "$(uri base)" write 64k 4)"
                record rewrite-seq snapshot "$(fio_run "$(uri base)" write 64k 4)"
                record rewrite-rand snapshot "$(fio_run "$(uri base)" randwrite 4k 16 time)"
                fresh_snapshots 1
                record read-seq snapshot "$(fio_run "$(uri s1)" read 64k 4)"
                record read-rand snapshot "$(fio_run "$(uri s1)" randread 4k 16 time)"
                fresh_snapshots 4
                record first-4 snapshot "$(fio_run "$(uri base)" write 64k 4)" ;;
            linear)
                fresh_linear
                record first-1 linear "$(fio_run "$(uri lin)" write 64k 4)"
                record rewrite-seq linear "$(fio_run "$(uri lin)" write 64k 4)"
                record rewrite-rand linear "$(fio_run "$(uri lin)" randwrite 4k 16 time)"
                fresh_linear
                record read-seq linear "$(fio_run "$(uri lin)" read 64k 4)"
                record read-rand linear "$(fio_run "$(uri lin)" randread 4k 16 time)" ;;
            qcow2)
                fresh_qcow2
                record first-1 qcow2 "$(fio_run "nbd://127.0.0.1:$qport/q" write 64k 4)"
                record rewrite-seq qcow2 "$(fio_run "nbd://127.0.0.1:$qport/q" write 64k 4)"
                record rewrite-rand qcow2 "$(fio_run "nbd://127.0.0.1:$qport/q" randwrite 4k 16 time)"
                fresh_qcow2
                record read-seq qcow2 "$(fio_run "nbd://127.0.0.1:$qport/q" read 64k 4)"
                record read-rand qcow2 "$(fio_run "nbd://127.0.0.1:$qport/q" randread 4k 16 time)" ;;
        esac
    done
done

echo "== mean of $rounds rounds (MB/s; IOPS in parentheses), ratios snapshot / peer"
printf '%-13s %18s %18s %18s %9s %9s\n' workload snapshot linear qcow2 "/linear" "/qcow2"
pass=0 fail=0
mean() { python3 -c "print(${sum[$1]:-0} / $rounds)"; }
for w in first-1 first-4 rewrite-seq rewrite-rand read-seq read-rand; do
    s=$(mean "$w,snapshot,mb"); l=$(mean "$w,linear,mb"); q=$(mean "$w,qcow2,mb")
    si=$(mean "$w,snapshot,iops"); li=$(mean "$w,linear,iops"); qi=$(mean "$w,qcow2,iops")
    if [ "$w" = first-4 ]; then l=$(mean "first-1,linear,mb"); q=$(mean "first-1,qcow2,mb"); li=$(mean "first-1,linear,iops"); qi=$(mean "first-1,qcow2,iops"); fi
    rl=$(python3 -c "print('%.2f' % ($s / $l if $l else 0))"); rq=$(python3 -c "print('%.2f' % ($s / $q if $q else 0))")
    printf '%-13s %8.1f (%7.0f) %8.1f (%7.0f) %8.1f (%7.0f) %9s %9s\n' "$w" "$s" "$si" "$l" "$li" "$q" "$qi" "$rl" "$rq"
    goal=
    case $w in
        read-seq|read-rand|rewrite-seq|rewrite-rand) goal=$(python3 -c "print('PASS' if $rl >= 0.9 else 'FAIL')"); gtext=">= 0.9 x linear" ;;
        first-1) goal=$(python3 -c "print('PASS' if $rl >= 0.5 and $rq > 1.0 else 'FAIL')"); gtext=">= 0.5 x linear and > qcow2" ;;
    esac
    if [ -n "$goal" ]; then
        echo "   $goal: $w $gtext"
        [ "$goal" = PASS ] && pass=$((pass + 1)) || fail=$((fail + 1))
    fi
done
echo "goals: $pass passed, $fail failed (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
