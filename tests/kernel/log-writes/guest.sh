#!/bin/bash
# Runs inside the kdm-vm guest (tests/kernel/kdm-vm.sh): maps the kernel's log-writes over two
# memory-backed null_blk devices (512-byte blocks, write cache with FUA, discard), drives it with
# /kdm/files/workload.sh through /kdm/files/lwio and dmsetup messages, removes it (the kernel then
# logs what waited for a flush and its end mark), and copies the log device to /dev/vda (16 MiB) and
# the data device to /dev/vdb (8 MiB). Prints the dmsetup lines it saw. Used by make-images.sh and
# LogWritesKernelTest (tests module).
set -e
modprobe null_blk nr_devices=2 gb=1 memory_backed=1 cache_size=16 discard=1 bs=512
L=/kdm/files/lwio D=/dev/mapper/lw
dmsetup create lw --table "0 16384 log-writes /dev/nullb0 /dev/nullb1"
dmsetup targets | grep log-writes
dmsetup table lw
dmsetup status lw
w() { $L $D w "$@"; }
W() { $L $D W "$@"; }
f() { $L $D f; }
d() { $L $D d "$@"; }
z() { $L $D z "$@"; }
m() { dmsetup message lw 0 mark "$1"; }
. /kdm/files/workload.sh
dmsetup status lw
dmsetup message lw 0 mark 2>/dev/null || echo "message 'mark': refused"
dmsetup message lw 0 mark a b 2>/dev/null || echo "message 'mark a b': refused"
dmsetup message lw 0 note a 2>/dev/null || echo "message 'note a': refused"
dmsetup remove lw
dd if=/dev/nullb1 of=/dev/vda bs=1M count=16 2>/dev/null
dd if=/dev/nullb0 of=/dev/vdb bs=1M count=8 2>/dev/null
