#!/bin/bash
# Guest script for tests/.../it/mirror/KernelLogInteropTest (run by ../kdm-vm.sh; one boot):
# the kernel reads the logs ddmapper left and resyncs only their dirty regions, then prints its
# status and table text of a few mirror tables and its reasons for refusing a few bad ones.
#   vda vdb vdc   ours-partial: legs a, b and the log ddmapper left part-way through a resync
#   vdd vde vdf   ours-crash:   legs a, b and the log ddmapper left with a write in flight
#   vdg vdh vdi   two plain 4 MiB legs and a log device for the text checks
# Output lines: "<scenario> status <line>" after the resync, "TABLE <n> <line>", "STATUS <n> <line>",
# "REFUSE <n> <reason>"; devices are named vdX instead of major:minor.
set -e
names() { local s="$*"; for d in vda vdb vdc vdd vde vdf vdg vdh vdi; do s=${s//"$(cat /sys/block/$d/dev)"/$d}; done; echo "$s"; }
await_sync() { # device, total regions
  for i in $(seq 1200); do dmsetup status "$1" | grep -q " $2/$2 " && return 0; sleep 0.1; done
  echo "$1 never in sync: $(dmsetup status "$1")"; exit 1
}
for s in "ours-partial /dev/vda /dev/vdb /dev/vdc" "ours-crash /dev/vdd /dev/vde /dev/vdf"; do
  set -- $s
  dmsetup create "$1" --table "0 8192 mirror disk 2 $4 512 2 $2 0 $3 0"
  await_sync "$1" 16
  echo "$1 status $(names "$(dmsetup status "$1")")"
  dmsetup remove "$1"
done
n=0
while read -r table; do
  n=$((n + 1))
  dmsetup create t --table "$table"
  await_sync t "$(( $(echo "$table" | cut -d' ' -f2) / 512 ))"
  echo "TABLE $n $(names "$(dmsetup table t)")"
  echo "STATUS $n $(names "$(dmsetup status t)")"
  dmsetup remove t
done <<'TABLES'
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core 2 512 nosync 2 /dev/vdg 0 /dev/vdh 0 1 handle_errors
0 8192 mirror disk 2 /dev/vdi 512 2 /dev/vdg 0 /dev/vdh 0 2 handle_errors keep_log
0 4096 mirror disk 3 /dev/vdi 512 sync 3 /dev/vdg 0 /dev/vdh 8 /dev/vdg 4096
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 2 handle_errors handle_errors
TABLES
n=0
while read -r table; do
  n=$((n + 1))
  dmesg -c > /dev/null
  dmsetup create bad --table "$table" 2>/dev/null && { echo "REFUSE $n accepted"; dmsetup remove bad; continue; }
  reason=$(dmesg | sed -n 's/.*mirror: \(.*\) (-E[A-Z]*)$/\1/p' | head -1)
  detail=$(dmesg | sed -n 's/.*device-mapper: dirty region log: //p' | head -1)
  echo "REFUSE $n $reason${detail:+: $detail}"
done <<'BAD'
0 8192 mirror core 1 1000 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core 2 512 bogus 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core 0 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core x 512 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core
0 8192 mirror core 1 512 1 /dev/vdg 0
0 8192 mirror core 1 512 2 /dev/vdg 0
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh x
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 1
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 1 keep_log
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 1 handle_error
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 1 handle_errors x
0 8192 mirror core 1 512 2 /dev/vdg 0 /dev/vdh 0 x handle_errors
0 8192 mirror disk 1 /dev/vdi 2 2 /dev/vdg 0 /dev/vdh 0
0 8192 mirror core 2 512 block_on_error 2 /dev/vdg 0 /dev/vdh 0
BAD
