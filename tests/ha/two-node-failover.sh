#!/bin/bash
# The two-node failover test of the ddmapper OCF agents, on one machine, as root. It builds:
#   switch   a network namespace with a bridge (10.77.0.0/24) joining the others
#   storage  a network namespace: two nbdkit servers exporting one LUN file (10.77.0.21 and .22:10809),
#            the paths of each node's multipath map, and the test's power switch (tests/ha/power-switch.py,
#            10.77.0.21:7000), the fence device
#   node-a, node-b  each its own pid, mount, network and UTS namespaces (tests/ha/node-init.sh) running
#            corosync, pacemaker and, under Pacemaker, ddmapper: ocf:ddmapper:appliance as a clone (a warm
#            appliance on both nodes), and the group lun0 (ocf:ddmapper:device) + lun0-ip (IPaddr2,
#            10.77.0.100) on one node; fencing through fence_ddmapper_test
#   client   a network namespace running tests/ha/verify-client.py: numbered writes with read-back through
#            nbd://10.77.0.100:10809/lun0, reconnecting when the connection breaks
# Then three faults of the node that serves lun0, each followed by a check that the other node took over,
# that the failed node stopped (fenced: every process gone), and by putting the failed node back:
#   appliance  SIGKILL of that node's ddmapper
#   node       SIGKILL of the node (all its processes: its pid namespace)
#   partition  its link to the switch goes down (the node can reach nothing, not even the power switch)
# For each it prints one line
#   RESULT fault=F from=NODE to=NODE stall_s=S takeover_s=T start_exec_ms=M fenced=yes|no load=L
# stall_s: the longest gap between two completed client requests after the fault (what the client saw);
# takeover_s: from the fault until Pacemaker reported lun0-ip started on the survivor; start_exec_ms: the
# lun0 start operation (ocf:ddmapper:device: ddsetup create, i.e. ddmapper's own start-and-export) as
# Pacemaker timed it. At the end the client reads back everything it wrote:
#   RESULT client requests=N reconnects=R errors=E verify_failures=V max_gap_s=G
# and the test passes only with no error and no verify failure. Everything it starts is killed by pid and
# every namespace goes with its last process, also on failure (trap); its files are in one temporary
# directory, deleted at the end (kept with HA_TEST_KEEP=1). Exit 0 on success, 1 with "FAIL: why".
# Environment: DDMAPPER_DIST (default runtime/target/ddmapper of this checkout), TMPDIR (where its directory goes).
set -u
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
dist=$(cd "${DDMAPPER_DIST:-$here/../../runtime/target/ddmapper}" && pwd -P) || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-ha.XXXXXX") || exit 1
python=/usr/bin/python3
net=10.77.0
floating=$net.100
declare -A init_pid unshare_pid address=([node-a]=$net.11 [node-b]=$net.12)
helpers=()  # processes started in the switch, storage and client namespaces

log() { printf '%s %s\n' "$(date +%T.%3N)" "$*" >&2; }
now() { date +%s.%3N; }
fail() {
    log "FAIL: $*"
    echo "FAIL: $*"
    for f in "$work"/node-*/root/var/log/pacemaker/pacemaker.log "$work"/node-*/log/*.out "$work"/switch.log "$work"/client.err; do
        [ -s "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
    done
    exit 1
}

cleanup() {
    for n in "${!unshare_pid[@]}"; do kill -KILL "${init_pid[$n]}" "${unshare_pid[$n]}" 2>/dev/null; done
    for p in "${helpers[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${HA_TEST_KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds, or fails the test
wait_for() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$(( $(date +%s) + seconds ))
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "$what: not within $seconds s"
        sleep 0.2
    done
}

# netns_holder VAR: a process holding a new network namespace, its pid in VAR; commands run in it with
# `nsenter -t PID -n` (in_net)
netns_holder() {
    unshare --net sleep 100000 </dev/null >/dev/null 2>&1 &
    helpers+=($!)
    printf -v "$1" %s $!
}
# (in the background, call nsenter itself: it execs the program, so $! is the program's pid, while a
# function would run in a subshell whose pid a kill would reach instead of the program's)
in_net() { local pid=$1; shift; nsenter -t "$pid" -n -- "$@"; }
in_node() { local n=$1; shift; nsenter -t "${init_pid[$n]}" -n -m -u -p -- "$@"; }

# ---- the switch, the storage, the client
netns_holder switch
netns_holder storage
netns_holder client
in_net "$switch" ip link add br0 type bridge
in_net "$switch" ip link set br0 up
# plug PID NAME ADDRESS...: a veth from the switch into the namespace of PID, as its eth0
plug() {
    local pid=$1 name=$2 a
    shift 2
    # the veth of a killed node goes with its namespace, which the kernel cleans up a little later
    for _ in $(seq 50); do
        in_net "$switch" ip link show "v-$name" >/dev/null 2>&1 || break
        sleep 0.1
    done
    in_net "$switch" ip link del "v-$name" 2>/dev/null
    in_net "$switch" ip link add "v-$name" type veth peer name eth0 netns "$pid" || return 1
    in_net "$switch" ip link set "v-$name" master br0 up || return 1
    in_net "$pid" ip link set lo up
    for a in "$@"; do in_net "$pid" ip addr add "$a/24" dev eth0; done
    in_net "$pid" ip link set eth0 up
}
plug "$storage" storage $net.21 $net.22 || fail "cannot make the storage's link"
plug "$client" client $net.31 || fail "cannot make the client's link"

truncate -s 64M "$work/lun.img"
for a in $net.21 $net.22; do
    nsenter -t "$storage" -n -- nbdkit --foreground --ipaddr "$a" --port 10809 file "$work/lun.img" >>"$work/nbdkit-$a.log" 2>&1 &
    helpers+=($!)
done
mkdir -p "$work/nodes"
nsenter -t "$storage" -n -- "$python" "$here/power-switch.py" $net.21:7000 "$work/nodes" "$work/switch.log" 2>>"$work/switch.err" &
helpers+=($!)

# ---- the nodes
cat > "$work/corosync.conf" <<EOF
totem {
    version: 2
    cluster_name: ddmapper-ha
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
nodelist {
    node {
        ring0_addr: ${address[node-a]}
        name: node-a
        nodeid: 1
    }
    node {
        ring0_addr: ${address[node-b]}
        name: node-b
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: /var/log/pacemaker/corosync.log
    timestamp: on
}
EOF
mkdir -p "$work/etc"
cp -r "$dist/etc/." "$work/etc/"
rm -rf "$work/etc/tables"  # boot tables would start on both nodes: in a cluster the devices are resources
# the export listens beyond loopback (0.0.0.0 in each node's namespace) in plain text: the appliance
# refuses that unless told so (NBD over TLS is the other way; see bundles/nbd/README.md)
printf '\nddmapper.nbd.insecure = true\n' >> "$work/etc/config.properties"

# start_node NAME: fresh namespaces for the node (its files in work/NAME are kept across restarts)
start_node() {
    local n=$1 dir=$work/$1 u child
    mkdir -p "$dir/root/etc/corosync" "$dir/ocf" "$dir/sbin" "$dir/log"
    cp "$work/corosync.conf" "$dir/root/etc/corosync/corosync.conf"
    ln -sfn "$dist/lib/ocf/resource.d/ddmapper" "$dir/ocf/ddmapper"
    install -m 0755 "$here/fence_ddmapper_test" "$dir/sbin/fence_ddmapper_test"
    rm -f "$dir/up"
    unshare --pid --fork --kill-child --mount-proc --net --mount --uts --propagation private \
        bash "$here/node-init.sh" "$n" "$dir" "${address[$n]}" >>"$dir/log/init.out" 2>&1 &
    u=$!
    unshare_pid[$n]=$u
    for _ in $(seq 100); do
        child=$(cat "/proc/$u/task/$u/children" 2>/dev/null)
        [ -n "$child" ] && break
        sleep 0.05
    done
    [ -n "$child" ] || fail "node $n did not start: $(cat "$dir/log/init.out")"
    init_pid[$n]=${child%% *}
    echo "${init_pid[$n]} $(cut -d')' -f2 "/proc/${init_pid[$n]}/stat" | cut -d' ' -f21)" > "$work/nodes/$n.pid"
    plug "${init_pid[$n]}" "$n" || fail "cannot make the link of $n"
}
node_up() { [ -e "$work/$1/up" ]; }
# online NODE FROM: crm_mon on FROM shows NODE online
online() { in_node "$2" crm_mon -1 --output-as=xml 2>/dev/null | grep -q "<node name=\"$1\" [^>]*online=\"true\""; }
# runs_on RESOURCE NODE FROM: Pacemaker (asked on FROM) has RESOURCE started on NODE
runs_on() { in_node "$3" crm_resource --locate -r "$1" 2>/dev/null | grep -q "running on: $2\$"; }
active_of() { in_node "$1" crm_resource --locate -r lun0 2>/dev/null | sed -n 's/.*running on: //p' | head -n 1; }

log "starting node-a and node-b (load $(cut -d' ' -f1 /proc/loadavg))"
start_node node-a
start_node node-b
wait_for 60 "node-a and node-b up" eval 'node_up node-a && node_up node-b'
wait_for 90 "both nodes online" eval 'online node-a node-a && online node-b node-a'

# ---- the resources
appliance_attrs="<nvpair id='appliance-home' name='home' value='/run/ddmapper'/>
  <nvpair id='appliance-nbd' name='nbd' value='0.0.0.0:10809'/>
  <nvpair id='appliance-etc' name='etc' value='$work/etc'/>"
table="0 131072 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 nbd://$net.21:10809/ 1 nbd://$net.22:10809/ 1"
configure() {
    in_node node-a cibadmin --create -o "$1" --xml-text "$2" >/dev/null || fail "cannot configure: $2"
}
for property in stonith-enabled=true stonith-action=off stonith-timeout=40s; do
    in_node node-a crm_attribute -t crm_config -n "${property%%=*}" -v "${property#*=}" || fail "cannot set $property"
done
configure configuration "<rsc_defaults><meta_attributes id='rsc-options'>
  <nvpair id='rsc-stickiness' name='resource-stickiness' value='100'/>
  <nvpair id='rsc-migration-threshold' name='migration-threshold' value='1'/></meta_attributes></rsc_defaults>"
configure resources "<primitive id='fence-switch' class='stonith' type='fence_ddmapper_test'>
  <instance_attributes id='fence-switch-attrs'>
    <nvpair id='fence-switch-ip' name='ipaddr' value='$net.21'/>
    <nvpair id='fence-switch-port' name='ipport' value='7000'/>
    <nvpair id='fence-switch-hosts' name='pcmk_host_list' value='node-a node-b'/></instance_attributes>
  <operations><op id='fence-switch-monitor' name='monitor' interval='60s'/></operations></primitive>"
configure resources "<clone id='appliance-clone'>
  <meta_attributes id='appliance-clone-meta'><nvpair id='appliance-clone-interleave' name='interleave' value='true'/></meta_attributes>
  <primitive id='appliance' class='ocf' provider='ddmapper' type='appliance'>
  <instance_attributes id='appliance-attrs'>$appliance_attrs</instance_attributes>
  <operations>
    <op id='appliance-start' name='start' timeout='120s' interval='0'/>
    <op id='appliance-stop' name='stop' timeout='60s' interval='0'/>
    <op id='appliance-monitor' name='monitor' timeout='30s' interval='10s'/></operations></primitive></clone>"
configure resources "<group id='lun0-service'>
  <primitive id='lun0' class='ocf' provider='ddmapper' type='device'>
  <instance_attributes id='lun0-attrs'>
    <nvpair id='lun0-name' name='name' value='lun0'/>
    <nvpair id='lun0-home' name='home' value='/run/ddmapper'/>
    <nvpair id='lun0-table' name='table' value='$table'/></instance_attributes>
  <operations>
    <op id='lun0-start' name='start' timeout='60s' interval='0'/>
    <op id='lun0-stop' name='stop' timeout='60s' interval='0'/>
    <op id='lun0-monitor' name='monitor' timeout='30s' interval='10s'/></operations></primitive>
  <primitive id='lun0-ip' class='ocf' provider='heartbeat' type='IPaddr2'>
  <instance_attributes id='lun0-ip-attrs'>
    <nvpair id='lun0-ip-ip' name='ip' value='$floating'/>
    <nvpair id='lun0-ip-mask' name='cidr_netmask' value='24'/>
    <nvpair id='lun0-ip-nic' name='nic' value='eth0'/></instance_attributes>
  <operations><op id='lun0-ip-monitor' name='monitor' timeout='20s' interval='10s'/></operations></primitive></group>"
configure constraints "<rsc_colocation id='lun0-with-appliance' rsc='lun0-service' with-rsc='appliance-clone' score='INFINITY'/>"
configure constraints "<rsc_order id='appliance-then-lun0' first='appliance-clone' then='lun0-service' kind='Mandatory'/>"

both_appliances() { runs_on appliance-clone node-a "$1" && runs_on appliance-clone node-b "$1"; }
wait_for 180 "the appliance on both nodes" both_appliances node-a
wait_for 60 "lun0 and its address started" eval '[ -n "$(active_of node-a)" ] && runs_on lun0-ip "$(active_of node-a)" node-a'
log "cluster up: lun0 on $(active_of node-a) (load $(cut -d' ' -f1 /proc/loadavg))"

# ---- the client
nsenter -t "$client" -n -- "$python" "$here/verify-client.py" "nbd://$floating:10809/lun0" "$work/client.gaps" "$work/client.progress" \
    >"$work/client.json" 2>"$work/client.err" &
client_pid=$!
helpers+=($client_pid)
client_since() { [ -s "$work/client.progress" ] && awk -v t="$1" '{ exit !($2 > t) }' "$work/client.progress"; }
wait_for 60 "the client writes" client_since "$(now)"

# ---- the faults
fault_appliance() { in_node "$1" sh -c 'kill -KILL "$(cat /run/ddmapper/run/ddmapper.lock)"'; }
fault_node() { kill -KILL "${init_pid[$1]}"; }
fault_partition() { in_net "$switch" ip link set "v-$1" down; }
gone() { ! kill -0 "${init_pid[$1]}" 2>/dev/null; }

# allow_appliance NODE FROM: clears the appliance's failure on NODE (crm_resource --cleanup, as an operator
# would), so that it runs there again. Pacemaker 2.1.5's cleanup clears the fail count before it deletes
# the history, and a start scheduled in between is cut off ("No such device") and counted as a failed
# start: then clean up again.
allow_appliance() {
    local try
    for try in 1 2 3; do
        in_node "$2" crm_resource --cleanup -r appliance-clone -N "$1" >/dev/null
        for _ in $(seq 300); do
            runs_on appliance-clone "$1" "$2" && return 0
            in_node "$2" crm_failcount -G -q -r appliance -N "$1" 2>/dev/null | grep -q INFINITY && break
            sleep 0.2
        done
        log "the appliance did not start again on $1 (try $try)"
    done
    fail "the appliance does not run on $1 again after a cleanup"
}

run_fault() {
    local fault=$1 from to t0 t1 stall exec fenced load offs
    from=$(active_of node-a)
    [ -n "$from" ] || from=$(active_of node-b)
    [ "$from" = node-a ] && to=node-b || to=node-a
    load=$(cut -d' ' -f1 /proc/loadavg)
    offs=$(grep -c " off $from -> ok" "$work/switch.log" 2>/dev/null)
    log "fault $fault on $from (load $load)"
    t0=$(now)
    "fault_$fault" "$from" || fail "$fault: could not inject the fault on $from"
    wait_for 120 "$fault: lun0-ip started on $to" runs_on lun0-ip "$to" "$to"
    t1=$(now)
    wait_for 60 "$fault: the client writes again" client_since "$t1"
    stall=$(awk -v t="$t0" '$2 > t && $3 > max { max = $3 } END { printf "%.2f", max }' "$work/client.gaps")
    exec=$(in_node "$to" cibadmin -Q --xpath "//node_state[@uname='$to']//lrm_resource[@id='lun0']/lrm_rsc_op[@operation='start']" 2>/dev/null |
        sed -n 's/.* exec-time="\([0-9]*\)".*/\1/p' | head -n 1)
    if [ "$(grep -c " off $from -> ok" "$work/switch.log" 2>/dev/null)" -gt "$offs" ]; then fenced=yes; else fenced=no; fi
    case $fault in
        appliance)
            # no fencing needed: the device's stop succeeded (its appliance was gone); the appliance stays
            # stopped there (migration-threshold 1) until cleaned up
            runs_on appliance-clone "$from" "$to" && fail "appliance: the appliance still runs on $from"
            allow_appliance "$from" "$to" ;;
        node|partition)
            [ $fenced = yes ] || fail "$fault: $from was not fenced (switch log: $(cat "$work/switch.log"))"
            gone "$from" || fail "$fault: $from still runs after it was fenced"
            start_node "$from"
            wait_for 60 "$fault: $from up again" node_up "$from"
            wait_for 90 "$fault: $from online again" online "$from" "$to" ;;
    esac
    echo "RESULT fault=$fault from=$from to=$to stall_s=$stall takeover_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') start_exec_ms=${exec:-?} fenced=$fenced load=$load"
    wait_for 180 "$fault: the appliance on both nodes again" both_appliances "$to"
}

run_fault appliance
run_fault node
run_fault partition

# ---- the client's verdict
kill -TERM "$client_pid"
for _ in $(seq 300); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$client_pid" 2>/dev/null && fail "the client did not finish reading back within 60 s"
summary=$(cat "$work/client.json")
echo "$summary" | "$python" -c '
import json, sys
s = json.load(sys.stdin)
print("RESULT client requests=%d reconnects=%d errors=%d verify_failures=%d max_gap_s=%.2f" % (
    s["requests"], s["reconnects"], s["errors"], s["verify_failures"], s["max_gap"]))
sys.exit(0 if s["errors"] == 0 and s["verify_failures"] == 0 else 1)' || fail "the client saw errors or lost data: $summary"
echo "PASS"
