#!/bin/sh
# scenario.sh - runs a snapshot scenario against the kernel's dm-snapshot, inside the
# kdm-vm.sh guest. The Java interop tests replay the same scenario files with ddmapper.
#
# Usage (in the guest): scenario.sh SCENARIO ORIGIN_DEV COW_DEV
# Scenario lines (one verb each; '#' starts a comment):
#   store P|PO|N CHUNK     the table's store type and chunk size (default P 8)
#   activate               dmsetup create ksnap (snapshot ORIGIN COW ...), then korigin (snapshot-origin ORIGIN)
#   write origin|snap SECTOR COUNT BYTE
#                          COUNT sectors of BYTE at SECTOR, written and fsync'ed before the next line
#                          (busybox dd's oflag=direct still goes through the page cache here, so
#                          fsync is what keeps the writes, and the exceptions they make, in order)
#   status                 prints ksnap's status
#   deactivate             prints ksnap's status and table, removes ksnap and korigin
#   view DEV               activates the snapshot alone, copies its whole view to DEV, prints status, removes it
#   merge                  snapshot-merge of COW into ORIGIN, waits until done, prints status, removes it
# Every dmsetup status/table line is printed as "status: ..." / "table: ...", a failed write as
# "write failed: ...", so that the caller can compare them with ddmapper's.
S=$1 O=$2 C=$3
SECTORS=$(blockdev --getsz "$O")
mode=P chunk=8
while read -r verb a b c d; do
    case $verb in
        ''|'#'*) ;;
        store) mode=$a chunk=$b ;;
        activate)
            # the snapshot first: the origin splits its writes at the chunk size of the snapshots it sees
            # when it is resumed (created before them, a write over two chunks copies out only the first)
            dmsetup create ksnap --table "0 $SECTORS snapshot $O $C $mode $chunk" || exit 1
            dmsetup create korigin --table "0 $SECTORS snapshot-origin $O" || exit 1 ;;
        write)
            n=$((c * 512))
            head -c $n /dev/zero | tr '\0' "\\$(printf %03o "$d")" |
                dd of=/dev/mapper/k$a bs=$n count=1 seek=$((b * 512)) oflag=seek_bytes iflag=fullblock conv=notrunc,fsync 2>/dev/null ||
                echo "write failed: $a $b $c $d" ;;
        status) echo "status: $(dmsetup status ksnap)" ;;
        deactivate)
            echo "status: $(dmsetup status ksnap)"
            echo "table: $(dmsetup table ksnap)"
            dmsetup remove ksnap && dmsetup remove korigin || exit 1 ;;
        view)
            dmsetup create kview --table "0 $SECTORS snapshot $O $C $mode $chunk" || exit 1
            echo "status: $(dmsetup status kview)"
            dd if=/dev/mapper/kview of="$a" bs=65536 2>/dev/null || echo "view failed"
            dmsetup remove kview ;;
        merge)
            dmsetup create kmerge --table "0 $SECTORS snapshot-merge $O $C $mode $chunk" || exit 1
            while :; do
                set -- $(dmsetup status kmerge)
                used=${4%/*} meta=$5
                [ "$used" = "$meta" ] && break
                case $4 in */*) ;; *) echo "merge status: $*"; break ;; esac
                sleep 0.2
            done
            echo "status: $(dmsetup status kmerge)"
            dmsetup remove kmerge ;;
        *) echo "unknown scenario verb: $verb"; exit 1 ;;
    esac
done < "$S"
