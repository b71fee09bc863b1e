#!/bin/bash
# bench/nbd-vs-peers.sh — ddmapper's NBD export against nbdkit and qemu-nbd, same file, same fio.
#
# One backing file is served four ways:
#   ddmapper   a linear mapped device over the file, in the appliance (bin/ddmapper)
#   nbdkit     nbdkit file FILE
#   qemu-none  qemu-nbd --cache=none  (O_DIRECT)
#   qemu-wb    qemu-nbd --cache=writeback
# and each runs the same fio --ioengine=nbd workloads: 4 KiB random read and write at queue depth
# 16, 1 MiB sequential read and write at queue depth 4, over TCP, over a Unix socket, and over TCP
# with TLS (transport "tls": ddmapper with ddmapper.nbd.tls=on, nbdkit --tls=require, qemu-nbd
# --tls-creds, certificates made with openssl for the run, fio's nbd engine on nbds://). The
# servers take turns within every round (the order rotates), so drift of a shared machine hits
# them all alike. Prints IOPS, MB/s, p50/p99 completion latency (mean over rounds) and
# ddmapper's ratio to each peer (ddmapper ÷ peer, so > 1 means ddmapper is faster).
#
# Then (unless --no-memory) it measures the appliance's resident memory (VmRSS, peak of samples)
# while 100 NBD connections run 4 KiB random reads at queue depth 4, and again while 100
# connections run 1 MiB writes at queue depth 16 (1.6 GiB asked for at once: the server's memory
# budget has to hold it back).
#
# Last it prints PASS or FAIL for each goal: ddmapper ÷ peer >= 1.0 for 4 KiB random reads and
# 1 MiB sequential reads and writes, >= 0.9 for 4 KiB random writes (each peer, each transport,
# by MB/s; over TLS >= 1.0 on every workload), TLS costing ddmapper no more than 35% of its plain TCP
# throughput on 1 MiB sequential reads, and VmRSS < 256 MiB in each memory run; then "goals: N
# passed, M failed".
#
# Usage: bench/nbd-vs-peers.sh [--seconds N] [--rounds N] [--size-mib N] [--transports "tcp unix tls"]
#                              [--servers "ddmapper nbdkit qemu-none qemu-wb"] [--no-memory]
#                              [--memory-seconds N] [--keep] [--quick] [--baseline DIST]
# --quick: 5 s runs, 2 rounds, a 256 MiB file, ddmapper and nbdkit only, no memory runs (a few minutes).
# --baseline DIST: also runs another ddmapper distribution (say, main's runtime/target/ddmapper copied
# aside) as server "baseline", in the same rotation, so a change is measured against the code before it
# in the same window; its rows show ddmapper ÷ baseline, and it is left out of the goals.
# Environment: DDMAPPER_DIST names the distribution to measure (default runtime/target/ddmapper);
# DDMAPPER_JAVA_OPTS is passed to the appliance (default: the launcher's own,
# -Xmx256m -Xmn24m -XX:+UseSerialGC: a small, collector-bounded heap; with G1 and no limit the JVM
# grows its heap to a quarter of RAM).
set -euo pipefail

seconds=10
rounds=3
size_mib=1024
transports="tcp unix tls"
servers="ddmapper nbdkit qemu-none qemu-wb"
memory=yes
memory_seconds=20
keep=no
baseline=
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --size-mib) size_mib=$2; shift 2 ;;
        --transports) transports=$2; shift 2 ;;
        --servers) servers=$2; shift 2 ;;
        --no-memory) memory=no; shift ;;
        --memory-seconds) memory_seconds=$2; shift 2 ;;
        --keep) keep=yes; shift ;;
        --quick) seconds=5; rounds=2; size_mib=256; memory=no; servers="ddmapper nbdkit"; shift ;;
        --baseline) baseline=$(cd "$2" && pwd -P); shift 2 ;;
        -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
        *) echo "nbd-vs-peers: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
java_opts=${DDMAPPER_JAVA_OPTS:--Xmx256m -Xmn24m -XX:+UseSerialGC}
dist=${DDMAPPER_DIST:-$repo/runtime/target/ddmapper}
for tool in fio nbdkit qemu-nbd python3 openssl; do
    command -v "$tool" >/dev/null || { echo "nbd-vs-peers: $tool is not installed" >&2; exit 1; }
done
if [ ! -x "$dist/bin/ddmapper" ]; then
    echo "== building the distribution"
    (cd "$repo" && mvn -q -o -DskipTests package -pl runtime -am)
fi
if [ -n "$baseline" ]; then
    [ -x "$baseline/bin/ddmapper" ] || { echo "nbd-vs-peers: $baseline/bin/ddmapper is missing" >&2; exit 2; }
    servers="$servers baseline"
fi

work=$(mktemp -d /tmp/nbd-bench.XXXXXX)
pids=()
app_pid=
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$app_pid" ]; then kill -TERM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$keep" = no ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nbd-vs-peers: nothing listens on port $1" >&2; return 1; }
wait_file() { for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "nbd-vs-peers: no socket $1" >&2; return 1; }

file=$work/disk.img
echo "== backing file: $size_mib MiB of random data in $work"
dd if=/dev/urandom of="$file" bs=1M count="$size_mib" status=none
cat "$file" > /dev/null
sectors=$((size_mib * 2048))

# --- TLS certificates for the run (a CA, a server certificate for 127.0.0.1; the client has the CA) ---
tls=no
case " $transports " in *" tls "*) tls=yes ;; esac
pki=$work/pki
if [ "$tls" = yes ]; then
    mkdir -p "$pki/ca" "$pki/server" "$pki/client"
    ossl() { openssl "$@" >> "$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }; }
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/ca/ca-key.pem" \
        -out "$pki/ca/ca-cert.pem" -days 2 -subj "/CN=nbd-vs-peers bench CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/server/server-key.pem" \
        -out "$pki/server.csr" -subj "/CN=nbd-vs-peers bench server"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' > "$pki/server.ext"
    ossl x509 -req -in "$pki/server.csr" -CA "$pki/ca/ca-cert.pem" -CAkey "$pki/ca/ca-key.pem" -set_serial 2 \
        -out "$pki/server/server-cert.pem" -days 2 -extfile "$pki/server.ext"
    # fio's nbd engine refuses tls-certificates= in a URI: libnbd then looks in $HOME/.pki/libnbd
    mkdir -p "$pki/home/.pki"
    cp "$pki/ca/ca-cert.pem" "$pki/server/"; cp "$pki/ca/ca-cert.pem" "$pki/client/"
    ln -s "$pki/client" "$pki/home/.pki/libnbd"
fi

# --- servers (all share the one file; qemu-nbd with image locking off so two can run) ---
declare -A tcp_uri unix_uri tls_uri
start_ddmapper() { # name distribution
    local port; port=$(free_port)
    local etc=$work/$1-etc
    cp -r "$2/etc" "$etc"
    if [ "$tls" = yes ]; then
        printf '\nddmapper.nbd.tls = on\nddmapper.nbd.tls.certificates = %s\n' "$pki/server" >> "$etc/config.properties"
    fi
    DDMAPPER_JAVA_OPTS=$java_opts "$2/bin/ddmapper" --no-console --http none --home "$work/$1-home" --etc "$etc" \
        --nbd "127.0.0.1:$port" --nbd-socket "$work/$1.sock" > "$work/$1.log" 2>&1 &
    if [ "$1" = ddmapper ]; then app_pid=$!; else pids+=($!); fi
    for _ in $(seq 1 120); do grep -q '^ddmapper ready' "$work/$1.log" && break; sleep 0.5; done
    grep -q '^ddmapper ready' "$work/$1.log" || { cat "$work/$1.log" >&2; exit 1; }
    "$2/bin/ddsetup" --socket "$work/$1-home/run/control.sock" create bench --table "0 $sectors linear $file 0"
    tcp_uri[$1]="nbd://127.0.0.1:$port/bench"
    unix_uri[$1]="nbd+unix:///bench?socket=$work/$1.sock"
    tls_uri[$1]="nbds://127.0.0.1:$port/bench"
}
start_nbdkit() {
    local port; port=$(free_port)
    nbdkit -f -i 127.0.0.1 -p "$port" file "$file" > "$work/nbdkit-tcp.log" 2>&1 & pids+=($!)
    nbdkit -f -U "$work/nbdkit.sock" file "$file" > "$work/nbdkit-unix.log" 2>&1 & pids+=($!)
    wait_port "$port"; wait_file "$work/nbdkit.sock"
    tcp_uri[nbdkit]="nbd://127.0.0.1:$port/"
    unix_uri[nbdkit]="nbd+unix:///?socket=$work/nbdkit.sock"
    if [ "$tls" = yes ]; then
        local tport; tport=$(free_port)
        nbdkit -f -i 127.0.0.1 -p "$tport" --tls=require --tls-certificates="$pki/server" file "$file" \
            > "$work/nbdkit-tls.log" 2>&1 & pids+=($!)
        wait_port "$tport"
        tls_uri[nbdkit]="nbds://127.0.0.1:$tport/"
    fi
}
start_qemu() { # name cache
    local port; port=$(free_port)
    local opts="driver=raw,file.driver=file,file.filename=$file,file.locking=off,file.aio=threads,cache.direct=$([ "$2" = none ] && echo on || echo off)"
    qemu-nbd --image-opts "$opts" --persistent --shared=128 -x bench -b 127.0.0.1 -p "$port" > "$work/$1-tcp.log" 2>&1 & pids+=($!)
    qemu-nbd --image-opts "$opts" --persistent --shared=128 -x bench -k "$work/$1.sock" > "$work/$1-unix.log" 2>&1 & pids+=($!)
    wait_port "$port"; wait_file "$work/$1.sock"
    tcp_uri[$1]="nbd://127.0.0.1:$port/bench"
    unix_uri[$1]="nbd+unix:///bench?socket=$work/$1.sock"
    if [ "$tls" = yes ]; then
        local tport; tport=$(free_port)
        qemu-nbd --image-opts "$opts" --persistent --shared=128 -x bench -b 127.0.0.1 -p "$tport" \
            --object "tls-creds-x509,id=tls0,dir=$pki/server,endpoint=server,verify-peer=off" --tls-creds tls0 \
            > "$work/$1-tls.log" 2>&1 & pids+=($!)
        wait_port "$tport"
        tls_uri[$1]="nbds://127.0.0.1:$tport/bench"
    fi
}
echo "== starting servers: $servers"
for s in $servers; do
    case $s in
        ddmapper) start_ddmapper ddmapper "$dist" ;;
        baseline) start_ddmapper baseline "$baseline" ;;
        nbdkit) start_nbdkit ;;
        qemu-none) start_qemu qemu-none none ;;
        qemu-wb) start_qemu qemu-wb writeback ;;
        *) echo "nbd-vs-peers: unknown server '$s'" >&2; exit 2 ;;
    esac
done

# --- workloads ---
workloads=("randread 4k 16" "randwrite 4k 16" "read 1M 4" "write 1M 4")
results=$work/results.tsv
: > "$results"
run_fio() { # server transport rw bs qd
    local uri home=$HOME
    case $2 in tcp) uri=${tcp_uri[$1]} ;; tls) uri=${tls_uri[$1]}; home=$pki/home ;; *) uri=${unix_uri[$1]} ;; esac
    local out=$work/fio.json
    HOME=$home fio --name=bench --ioengine=nbd --uri="$uri" --rw="$3" --bs="$4" --iodepth="$5" --size="${size_mib}M" \
        --time_based --runtime="$seconds" --ramp_time=2 --randrepeat=0 --output-format=json --output="$out" >/dev/null 2>&1 \
        || { echo "nbd-vs-peers: fio failed against $1 ($2)" >&2; return 1; }
    python3 - "$out" "$1" "$2" "$3" "$4" "$5" >> "$results" <<'EOF'
import json, sys
out, server, transport, rw, bs, qd = sys.argv[1:]
job = json.load(open(out))['jobs'][0]
d = job['write'] if 'write' in rw else job['read']
p = d['clat_ns']['percentile']
print('\t'.join([f'{rw} {bs} qd{qd}', transport, server, '%.1f' % d['iops'], '%.2f' % (d['bw_bytes'] / 1e6),
                 '%.1f' % (p['50.000000'] / 1000), '%.1f' % (p['99.000000'] / 1000)]))
EOF
}
echo "== load before: $(uptime)"
set -- $servers
order=("$@")
for round in $(seq 1 "$rounds"); do
    for w in "${workloads[@]}"; do
        for t in $transports; do
            for i in "${!order[@]}"; do
                s=${order[$(((i + round) % ${#order[@]}))]}
                printf '   round %s: %-16s %-4s %s\n' "$round" "$w" "$t" "$s"
                run_fio "$s" "$t" $w
            done
        done
    done
done
echo "== load after: $(uptime)"

# --- the table, and the throughput goals (one line each into $goals) ---
goals=$work/goals.txt
: > "$goals"
python3 - "$results" "$servers" "$goals" <<'EOF'
import sys, collections
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
servers = sys.argv[2].split()
acc = collections.defaultdict(list)
for w, t, s, iops, mbs, p50, p99 in rows:
    acc[(w, t, s)].append((float(iops), float(mbs), float(p50), float(p99)))
mean = lambda xs: sum(xs) / len(xs)
print()
print(f"{'workload':<20} {'net':<5} {'server':<10} {'IOPS':>9} {'MB/s':>9} {'p50 us':>9} {'p99 us':>9} {'ddmapper/peer':>14}")
seen = []
for w, t, s in acc:
    if (w, t) not in seen: seen.append((w, t))
for w, t in seen:
    ours = acc.get((w, t, 'ddmapper'))
    for s in servers:
        v = acc.get((w, t, s))
        if not v: continue
        iops, mbs, p50, p99 = (mean([x[i] for x in v]) for i in range(4))
        ratio = ''
        if ours and s != 'ddmapper':
            ratio = '%.2f' % (mean([x[1] for x in ours]) / mbs) if mbs else 'n/a'
        print(f"{w:<20} {t:<5} {s:<10} {iops:>9.0f} {mbs:>9.1f} {p50:>9.0f} {p99:>9.0f} {ratio:>14}")
    print()
# ddmapper / peer by MB/s: >= 1.0 except 4 KiB random writes (>= 0.9); over TLS >= 1.0 on all
goal = {'randread 4k': 1.0, 'randwrite 4k': 0.9, 'read 1M': 1.0, 'write 1M': 1.0}
with open(sys.argv[3], 'a') as g:
    # TLS may cost ddmapper at most 35% of its plain TCP throughput on 1 MiB sequential reads
    plain, tls = acc.get(('read 1M qd4', 'tcp', 'ddmapper')), acc.get(('read 1M qd4', 'tls', 'ddmapper'))
    if plain and tls:
        kept = mean([x[1] for x in tls]) / mean([x[1] for x in plain])
        g.write(f"{'PASS' if kept >= 0.65 else 'FAIL'}  read 1M qd4: ddmapper over TLS keeps {kept:.2f} of plain TCP (goal >= 0.65)\n")
    for w, t in seen:
        want = 1.0 if t == 'tls' and ' '.join(w.split()[:2]) in goal else goal.get(' '.join(w.split()[:2]))
        ours = acc.get((w, t, 'ddmapper'))
        if want is None or not ours: continue
        for s in servers:
            v = acc.get((w, t, s))
            if s in ('ddmapper', 'baseline') or not v: continue
            peer = mean([x[1] for x in v])
            r = mean([x[1] for x in ours]) / peer if peer else float('inf')
            verdict = 'PASS' if r >= want else 'FAIL'
            g.write(f"{verdict}  {w} {t} vs {s}: ddmapper/peer {r:.2f} (goal >= {want})\n")
EOF

# --- resident memory with 100 connections ---
rss_run() { # label fio-arguments...
    local label=$1; shift
    local idle peak=0 conns=0 r c fio_pid iops port
    rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$app_pid/status"; }
    idle=$(rss_kib)
    fio --name=conns --ioengine=nbd --uri="${tcp_uri[ddmapper]}" --numjobs=100 "$@" \
        --size="${size_mib}M" --time_based --runtime="$memory_seconds" --group_reporting --output="$work/conns.txt" >/dev/null 2>&1 &
    fio_pid=$!
    port=$(echo "${tcp_uri[ddmapper]}" | sed 's#.*:\([0-9]*\)/.*#\1#')
    for _ in $(seq 1 $((memory_seconds * 2))); do
        sleep 0.5
        kill -0 "$app_pid" 2>/dev/null || { echo "nbd-vs-peers: the appliance died" >&2; break; }
        r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r
        c=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
        [ "$c" -gt "$conns" ] && conns=$c
    done
    wait "$fio_pid" || echo "   fio reported an error (see $work/conns.txt)"
    iops=$(grep -o 'IOPS=[^,]*' "$work/conns.txt" | head -1 || true)
    echo "   $label: VmRSS idle $((idle / 1024)) MiB; peak with $conns connections open: $((peak / 1024)) MiB (goal < 256 MiB); fio: ${iops:-no result}"
    if [ "$peak" -gt 0 ] && [ "$peak" -lt $((256 * 1024)) ] && [ "$conns" -ge 100 ]; then
        echo "PASS  VmRSS $label: $((peak / 1024)) MiB with $conns connections (goal < 256 MiB)" >> "$goals"
    else
        echo "FAIL  VmRSS $label: $((peak / 1024)) MiB with $conns connections (goal < 256 MiB, 100 connections)" >> "$goals"
    fi
}
if [ "$memory" = yes ] && [ -n "$app_pid" ]; then
    echo "== resident memory of the appliance (pid $app_pid) with 100 NBD connections, ${memory_seconds} s each"
    echo "   JVM options: $java_opts"
    rss_run "4k randread qd4" --rw=randread --bs=4k --iodepth=4
    rss_run "1M write qd16" --rw=write --bs=1M --iodepth=16
    if grep -q 'no memory\|OutOfMemoryError' "$work/ddmapper.log"; then
        echo "FAIL  the appliance ran out of memory (see its log)" >> "$goals"
    fi
fi

# --- the goals ---
echo
echo "== goals"
cat "$goals"
echo "goals: $(grep -c '^PASS' "$goals" || true) passed, $(grep -c '^FAIL' "$goals" || true) failed"
