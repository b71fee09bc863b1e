#!/bin/bash
# Makes the kernel's dm-log-writes images that LogWritesKernelImagesTest (bundles/target-fault) reads:
# boots the kernel oracle (tests/kernel/kdm-vm.sh, Debian's 6.1) with two memory-backed null_blk
# devices (write cache and FUA, discard; 512-byte blocks), maps `log-writes /dev/nullb0 /dev/nullb1`,
# drives it with workload.sh through lwio (built here, static) and dmsetup messages, removes it, and
# writes into the test resources:
#   kernel-log.img.gz    the log device (16 MiB, mostly zeros; gzip -9)
#   kernel-data.img.gz   the data device (8 MiB)
#   kernel-status.txt    dmsetup targets/table/status lines and message refusals seen on the way
# Usage: tests/kernel/log-writes/make-images.sh   (about 20 s; needs gcc with a static libc)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../../../bundles/target-fault/src/test/resources/org/ddmapper/targets/fault/logwrites/kernel
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lw-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
gcc -static -O2 -Wall -o "$WORK/lwio" "$HERE/lwio.c"
cp "$HERE/workload.sh" "$WORK/workload.sh"
truncate -s 16M "$WORK/log.img"
truncate -s 8M "$WORK/data.img"
cat > "$WORK/guest.sh" <<'GUEST'
#!/bin/bash
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
GUEST
"$HERE/../kdm-vm.sh" -t 300 -f "$WORK/lwio" -f "$WORK/workload.sh" "$WORK/guest.sh" "$WORK/log.img" "$WORK/data.img" \
    | tee "$WORK/status.txt"
mkdir -p "$OUT"
gzip -9nc "$WORK/log.img" > "$OUT/kernel-log.img.gz"
gzip -9nc "$WORK/data.img" > "$OUT/kernel-data.img.gz"
cp "$WORK/status.txt" "$OUT/kernel-status.txt"
ls -l "$OUT"
