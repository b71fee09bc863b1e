#!/bin/bash
# bench/stats-cost.sh — what the core's I/O statistics cost over NBD: paired A/B in one run.
#
# Copies the distribution aside twice (so a rebuild meanwhile does not disturb the run), once with `ddmapper.core.stats = off` added to its etc/config.properties
# (no counters, no timestamps, no counting wrappers) and runs bench/nbd-vs-peers.sh with the real
# distribution (statistics on, server "ddmapper") and the copy as its baseline (server "baseline"),
# the two taking turns in every round, same file, same fio jobs (4 KiB random read/write at QD 16,
# 1 MiB sequential read/write at QD 4, TCP and Unix socket). Its "ddmapper ÷ baseline" rows are
# statistics-on ÷ statistics-off (1.00 = no cost; 0.97 = 3% slower). Memory runs and the peers are
# left out. Arguments go to nbd-vs-peers.sh (default: --seconds 10 --rounds 5).
#
# Usage: bench/stats-cost.sh [nbd-vs-peers options]
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
dist=$repo/runtime/target/ddmapper
[ -x "$dist/bin/ddmapper" ] || (cd "$repo" && mvn -q -o -DskipTests package -pl runtime -am)
work=$(mktemp -d /tmp/stats-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cp -r "$dist" "$work/stats-on"
rm -rf "$work/stats-on/var/"*
cp -r "$dist" "$work/stats-off"
rm -rf "$work/stats-off/var/"*
printf '\n# bench/stats-cost.sh: the same build without I/O statistics\nddmapper.core.stats = off\n' >> "$work/stats-off/etc/config.properties"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--seconds 10 --rounds 5)
DDMAPPER_DIST=$work/stats-on "$repo/bench/nbd-vs-peers.sh" --servers ddmapper --no-memory --size-mib 512 --baseline "$work/stats-off" "${args[@]}"
