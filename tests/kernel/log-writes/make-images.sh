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
truncate -s 16M "$WORK/log.img"
truncate -s 8M "$WORK/data.img"
"$HERE/../kdm-vm.sh" -t 300 -f "$WORK/lwio" -f "$HERE/workload.sh" "$HERE/guest.sh" "$WORK/log.img" "$WORK/data.img" \
    | tee "$WORK/status.txt"
mkdir -p "$OUT"
gzip -9nc "$WORK/log.img" > "$OUT/kernel-log.img.gz"
gzip -9nc "$WORK/data.img" > "$OUT/kernel-data.img.gz"
cp "$WORK/status.txt" "$OUT/kernel-status.txt"
ls -l "$OUT"
