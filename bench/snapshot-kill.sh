#!/bin/bash
# bench/snapshot-kill.sh — the kill -9 correctness loop of the snapshot target, long: runs
# tests/.../it/snapshot/SnapshotKillTest with many cycles (the suite runs 3). Each cycle: qemu-io
# writes to an origin and to its persistent snapshot over NBD, the appliance gets SIGKILL at a
# random moment, comes back from the same home, and every acknowledged write must be there, the
# snapshot must show no byte of any origin write, and a snapshot write in flight must be whole or
# absent. This is a correctness run, not a speed one: any load is fine.
#
# Usage: bench/snapshot-kill.sh [CYCLES (default 100)] [SEED (default 12345)]
set -euo pipefail
cycles=${1:-100}
seed=${2:-12345}
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$repo"
mvn -o -B -q verify -pl tests -am -Dtest=SnapshotKillTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dddmapper.it.snapshotKillCycles="$cycles" -Dddmapper.it.snapshotKillSeed="$seed"
grep -h "snapshot kill -9" tests/target/surefire-reports/org.ddmapper.it.snapshot.SnapshotKillTest-output.txt
