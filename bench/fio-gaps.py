#!/usr/bin/env python3
"""Stalls seen by an fio client, from its per-completion latency logs.

fio must have run with --write_lat_log=PREFIX --log_avg_msec=0 (every completion logged) and,
to compare with wall-clock fault times, --log_unix_epoch=1. Each job's PREFIX_clat.N.log has one
line per completion: "time_ms, latency_ns, direction, block_size[, offset]".

The stall a client sees is the largest gap between two consecutive completions of one job: fio's
max completion latency cannot isolate it (a request issued just before a failover and requeued
completes with a latency no larger than the baseline's worst, while the job saw nothing complete
for the whole failover).

Usage:  fio-gaps.py PREFIX [START_MS END_MS]
Prints one line: "GAP_MS MAX_LATENCY_MS COMPLETIONS JOBS" where GAP_MS is the largest gap between
two consecutive completions of one job overall or, with a window, among the gaps that overlap
[START_MS, END_MS] (a gap from x to y overlaps when y >= START_MS and x <= END_MS).
Importable: gaps(prefix, windows) for scripts that want several windows at once.
"""
import glob
import sys


def read_jobs(prefix):
    """Per job: its sorted completion times in ms, and the largest latency (ns) over all jobs."""
    jobs, lat_max = [], 0
    for f in sorted(glob.glob(prefix + "_clat.*.log")):
        times = []
        for line in open(f):
            p = line.split(",")
            if len(p) >= 2:
                times.append(int(p[0]))
                lat_max = max(lat_max, int(p[1]))
        times.sort()
        jobs.append(times)
    return jobs, lat_max


def gaps(prefix, windows=()):
    """(overall largest gap, [largest gap overlapping each (start, end) window], [when each of those
    gaps began, ms], max latency ns, completions, jobs)."""
    jobs, lat_max = read_jobs(prefix)
    overall, per, at = 0, [0] * len(windows), [0] * len(windows)
    for t in jobs:
        for x, y in zip(t, t[1:]):
            g = y - x
            overall = max(overall, g)
            for k, (a, b) in enumerate(windows):
                if y >= a and x <= b and g > per[k]:
                    per[k], at[k] = g, x
    return overall, per, at, lat_max, sum(map(len, jobs)), len(jobs)


def main(argv):
    if len(argv) not in (2, 4):
        sys.exit(__doc__)
    windows = [(int(argv[2]), int(argv[3]))] if len(argv) == 4 else []
    overall, per, _, lat_max, n, jobs = gaps(argv[1], windows)
    if n == 0:
        sys.exit(f"fio-gaps: no completions logged under {argv[1]}_clat.*.log")
    print(per[0] if windows else overall, f"{lat_max / 1e6:.1f}", n, jobs)


if __name__ == "__main__":
    main(sys.argv)
