#!/bin/bash
# make-images.sh - makes the kernel-written snapshot stores that the interop tests read
# (tests/src/test/resources/kernel-snapshot/, xz-compressed), with the real kernel under
# ../kdm-vm.sh. Run it again only to change them; the tests never run it.
#
#   tests/kernel/snapshot/make-images.sh
#
# It writes, all deterministic except the kernel's own doing:
#   scenario-a.txt    chunk 8, P: three activations, ~330 origin and snapshot writes of 1..12
#                     sectors (partial chunks, some spanning two), enough to fill metadata area 0
#                     (256 exceptions) and go on in area 1
#   scenario-c-P.txt, scenario-c-PO.txt
#                     a 64 KiB COW (14 data chunks) overflowed: by origin writes (P: invalid on disk)
#                     and by snapshot writes (PO: "Overflow" in memory only), then an origin write
#                     (PO too: invalid, as the kernel invalidates on any origin copy-out that fails)
#   origin.img.xz     the 4 MiB origin every scenario starts from (sector N says "origin sector N")
#   a-origin.img.xz, a-cow.img.xz, a-view.img.xz, a.txt
#                     after scenario-a: the origin, the COW, the snapshot's view as the kernel reads
#                     it, and the status/table lines dmsetup printed
#   c-P-cow.img.xz, c-P.txt, c-PO-cow.img.xz, c-PO.txt
#                     the overflowed COWs and the kernel's lines
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../src/test/resources/kernel-snapshot
vm=$here/../kdm-vm.sh
work=$(mktemp -d /tmp/kdm-snapshot-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Park-Miller LCG in awk: exact in doubles (products stay below 2^53)
gen() { # SEED ORIGIN_WRITES SNAP_WRITES FIRST_VALUE
    awk -v seed="$1" -v nori="$2" -v nsnap="$3" -v v0="$4" 'function r(n) { seed = (seed * 16807) % 2147483647; return seed % n }
    BEGIN {
        v = v0
        for (i = 0; i < nori; i++) { n = 1 + r(12); s = r(8192 - n); print "write origin", s, n, (v++ % 250) + 1 }
        for (i = 0; i < nsnap; i++) {
            if (r(3) == 0) { n = 8; s = 8 * r(1024) } else { n = 1 + r(12); s = r(8192 - n) }
            print "write snap", s, n, (v++ % 250) + 1
        }
    }'
}

{
    echo "# kernel interop scenario a (made by make-images.sh): 4 MiB origin, 2 MiB COW, P 8"
    echo "store P 8"
    echo activate; gen 11 150 15 0; echo deactivate
    echo activate; gen 23 150 10 170; echo deactivate
    echo activate; gen 37 20 5 80; echo deactivate
} > "$here/scenario-a.txt"
{
    echo "# overflow by origin writes (made by make-images.sh): 64 KiB COW, P 8"
    echo "store P 8"; echo activate
    for i in $(seq 0 13); do echo "write origin $((i * 64 + 3)) 2 $((i + 1))"; done
    echo status
    for i in $(seq 14 19); do echo "write origin $((i * 64 + 3)) 2 $((i + 1))"; done
    echo deactivate
} > "$here/scenario-c-P.txt"
{
    echo "# overflow by snapshot writes (made by make-images.sh): 64 KiB COW, PO 8"
    echo "store PO 8"; echo activate
    for i in $(seq 0 13); do echo "write snap $((i * 64 + 3)) 2 $((i + 1))"; done
    echo status
    for i in $(seq 14 19); do echo "write snap $((i * 64 + 3)) 2 $((i + 1))"; done
    echo status
    echo "write origin 5000 1 99"
    echo deactivate
} > "$here/scenario-c-PO.txt"

# the origin: each sector holds "origin sector N" and padding, so every sector differs
awk 'BEGIN { for (s = 0; s < 8192; s++) { line = sprintf("origin sector %07d ", s); t = ""; while (length(t) < 512) t = t line; printf "%s", substr(t, 1, 512) } }' > "$work/origin.img"
cp "$work/origin.img" "$work/a-origin.img"
cp "$work/origin.img" "$work/c-P-origin.img"
cp "$work/origin.img" "$work/c-PO-origin.img"
truncate -s 2M "$work/a-cow.img"
truncate -s 4M "$work/a-view.img"
truncate -s 64K "$work/c-P-cow.img" "$work/c-PO-cow.img"

"$vm" -t 600 -f "$here/scenario.sh" -f "$here/scenario-a.txt" -f "$here/scenario-c-P.txt" -f "$here/scenario-c-PO.txt" - \
    "$work/a-origin.img" "$work/a-cow.img" "$work/a-view.img" \
    "$work/c-P-origin.img" "$work/c-P-cow.img" "$work/c-PO-origin.img" "$work/c-PO-cow.img" > "$work/vm.txt" <<'GUEST'
f=/kdm/files
sh $f/scenario.sh $f/scenario-a.txt /dev/vda /dev/vdb > /tmp/a.txt
echo "view /dev/vdc" > /tmp/view.txt
sh $f/scenario.sh /tmp/view.txt /dev/vda /dev/vdb >> /tmp/a.txt
sh $f/scenario.sh $f/scenario-c-P.txt /dev/vdd /dev/vde > /tmp/cP.txt
sh $f/scenario.sh $f/scenario-c-PO.txt /dev/vdf /dev/vdg > /tmp/cPO.txt
for x in a cP cPO; do echo "== $x"; cat /tmp/$x.txt; done
GUEST
cat "$work/vm.txt"
awk '/^== /{f=$2; next} {print > "'"$work"'/" f ".txt"}' "$work/vm.txt"
cp "$work/a.txt" "$out/a.txt"; cp "$work/cP.txt" "$out/c-P.txt"; cp "$work/cPO.txt" "$out/c-PO.txt"
for img in origin a-origin a-cow a-view c-P-cow c-PO-cow; do xz -9 -c "$work/$img.img" > "$out/$img.img.xz"; done
ls -l "$out"
