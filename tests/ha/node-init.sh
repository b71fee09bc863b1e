#!/bin/bash
# The init (pid 1) of one cluster node of the two-node failover test, started by two-node-failover.sh
# with `unshare --pid --fork --kill-child --mount-proc --net --mount --uts` so that the node's processes,
# mounts, network and host name are its own, and SIGKILL to this init stops every process of the node.
#
# usage: node-init.sh NAME DIR ADDRESS
# DIR holds the node's files: root/ (bound over /var/lib/pacemaker, /var/lib/corosync, /etc/corosync,
# /var/log/pacemaker, /var/lib/heartbeat, /etc/pacemaker; root/etc/corosync/corosync.conf is written by
# the driver), ocf/ (overlaid on /usr/lib/ocf/resource.d: the ddmapper agents), sbin/ (overlaid on
# /usr/sbin: the test's fence agent), log/. /run and /dev/shm are fresh tmpfs (pacemaker's and libqb's
# IPC). It waits for eth0 (the driver adds it from the switch namespace), gives it ADDRESS/24, starts
# corosync and pacemakerd, writes DIR/up, and reaps children until it is killed.
set -eu
name=$1 dir=$2 address=$3

hostname "$name"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/resource-agents /run/crm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
for d in /var/lib/pacemaker /var/lib/corosync /etc/corosync /var/log/pacemaker /var/lib/heartbeat /etc/pacemaker; do
    mkdir -p "$dir/root$d"
    mount --bind "$dir/root$d" "$d"
done
for d in cib pengine blackbox cores; do
    install -d -o hacluster -g haclient -m 0750 "/var/lib/pacemaker/$d"
done
chown hacluster:haclient /var/log/pacemaker
chmod 0770 /var/log/pacemaker
mount -t overlay overlay -o "lowerdir=$dir/ocf:/usr/lib/ocf/resource.d" /usr/lib/ocf/resource.d
mount -t overlay overlay -o "lowerdir=$dir/sbin:/usr/sbin" /usr/sbin

for _ in $(seq 200); do
    ip link show eth0 >/dev/null 2>&1 && break
    sleep 0.05
done
ip link set lo up
ip addr add "$address/24" dev eth0
ip link set eth0 up

corosync -f >>"$dir/log/corosync.out" 2>&1 &
corosync=$!
until corosync-cfgtool -s >/dev/null 2>&1; do
    kill -0 $corosync 2>/dev/null || { echo "node-init: corosync exited" >&2; exit 1; }
    sleep 0.1
done
PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none pacemakerd >>"$dir/log/pacemakerd.out" 2>&1 &
touch "$dir/up"
# pid 1 reaps every orphan of the node; `wait` returns when a child ends, so loop
while :; do
    wait || true
    sleep 1
done
