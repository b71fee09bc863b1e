#!/usr/bin/env bash
# Makes the kernel-made mirror images that tests/.../it/mirror/KernelLogInteropTest reads, with
# Debian's 6.1 kernel under qemu (../kdm-vm.sh), and stores them gzipped in
# tests/src/test/resources/org/ddmapper/it/mirror/kernel/. Run it again only to remake them.
#
# Legs are 4 MiB (8192 sectors), regions 512 sectors (16 regions), logs 8 KiB. Every sector of a
# leg holds one 8-byte word repeated: a letter naming the leg's pattern and the sector number, so
# a sector shows where it came from and the images gzip to a few KiB.
#
#   partial-{a,b,log}  a log the kernel left part-way through a resync: leg a pattern 'A', leg b
#                      pattern 'B'; leg b is reached through a table whose second half is the
#                      error target, so the kernel (handle_errors) copies regions 0-7 and fails
#                      8-15: the log has regions 0-7 clean, 8-15 dirty; b's first half is a's
#                      data, its second half still 'B'.
#   crash-{a,b,log}    a crash with a write in flight: legs equal (pattern 'C'), mirror nosync
#                      (every region clean), leg b behind dm-delay (writes held 30 s); a 4 KiB
#                      write of pattern 'W' at sector 2584 (region 5) completes on a, waits on b;
#                      meanwhile log, a and b are copied (O_DIRECT) to spare disks: that copy is
#                      what a crash leaves. The log has region 5 dirty.
set -euo pipefail
cd "$(dirname "$0")"
OUT=../../src/test/resources/org/ddmapper/it/mirror/kernel
W=$(mktemp -d /tmp/kdm-mirror-images.XXXXXX)
trap 'rm -rf "$W"' EXIT
pattern() { python3 - "$1" "$2" <<'PY'
import struct, sys
letter, path = sys.argv[1].encode(), sys.argv[2]
with open(path, "wb") as f:
    for s in range(8192):
        f.write(struct.pack("<cxxxI", letter, s) * 64)
PY
}
pattern A "$W/partial-a.img"; pattern B "$W/partial-b.img"; truncate -s 8K "$W/partial-log.img"
pattern C "$W/crash-a.img"; pattern C "$W/crash-b.img"; truncate -s 8K "$W/crash-log.img"
truncate -s 8K "$W/crash-log.copy"; truncate -s 4M "$W/crash-a.copy" "$W/crash-b.copy"
python3 - "$W/write.bin" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    for s in range(2584, 2592):
        f.write(struct.pack("<cxxxI", b"W", s) * 64)
PY
../kdm-vm.sh -t 300 -f "$W/write.bin" - "$W/partial-a.img" "$W/partial-b.img" "$W/partial-log.img" \
    "$W/crash-a.img" "$W/crash-b.img" "$W/crash-log.img" "$W/crash-log.copy" "$W/crash-a.copy" "$W/crash-b.copy" <<'GUEST'
#!/bin/bash
set -e
await_status() { # device, text: poll status until it contains text (60 s)
  for i in $(seq 600); do dmsetup status "$1" | grep -q -- "$2" && return 0; sleep 0.1; done
  echo "status of $1 never showed '$2': $(dmsetup status "$1")"; exit 1
}
echo "== partial"
dmsetup create pb --table "0 4096 linear /dev/vdb 0
4096 4096 error"
dmsetup create partial --table "0 8192 mirror disk 2 /dev/vdc 512 2 /dev/vda 0 /dev/mapper/pb 0 1 handle_errors"
await_status partial " 8/16 1 AS "
sleep 1
dmsetup status partial
dmsetup remove partial; dmsetup remove pb
hexdump -C -n 16 /dev/vdc; hexdump -C -s 1024 -n 8 /dev/vdc
echo "== crash"
dmsetup create cb --table "0 8192 delay /dev/vde 0 0 /dev/vde 0 30000"
dmsetup create crash --table "0 8192 mirror disk 3 /dev/vdf 512 nosync 2 /dev/vdd 0 /dev/mapper/cb 0"
dd if=/kdm/files/write.bin of=/dev/mapper/crash bs=4096 seek=323 count=1 oflag=direct 2>/dev/null &
await_status cb "0 1 0"
sleep 1
dd if=/dev/vdf of=/dev/vdg bs=4096 count=2 iflag=direct 2>/dev/null
dd if=/dev/vdd of=/dev/vdh bs=1M iflag=direct 2>/dev/null
dd if=/dev/vde of=/dev/vdi bs=1M iflag=direct 2>/dev/null
dmsetup status crash
hexdump -C -n 16 /dev/vdg; hexdump -C -s 1024 -n 8 /dev/vdg
GUEST
mkdir -p "$OUT"
for f in partial-a partial-b partial-log; do gzip -9n < "$W/$f.img" > "$OUT/$f.img.gz"; done
gzip -9n < "$W/crash-log.copy" > "$OUT/crash-log.img.gz"
gzip -9n < "$W/crash-a.copy" > "$OUT/crash-a.img.gz"
gzip -9n < "$W/crash-b.copy" > "$OUT/crash-b.img.gz"
ls -l "$OUT"
