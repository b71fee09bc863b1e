#!/usr/bin/env bash
# Routing overhead: 4 KiB random reads through a linear mapped device vs. the file provider
# itself, at queue depth 1 (µs/op, lower is better) and 16 (ops/s, higher is better).
# Usage: bench/routing.sh [quick]   (quick = shorter runs, for a smoke check)
# Builds core and target-linear (offline, no install), compiles the JMH harness in
# bench/routing/src with javac, runs it, and prints the linear/file ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
M2=${M2:-$HOME/.m2/repository}
OUT=$ROOT/bench/routing/target
mvn -q -o -pl bundles/core,bundles/target-linear -am -DskipTests package
VERSION=$(sed -n 's:.*<version>\(.*-SNAPSHOT\)</version>.*:\1:p' pom.xml | head -1)
JMH="$M2/org/openjdk/jmh/jmh-core/1.37/jmh-core-1.37.jar:$M2/net/sf/jopt-simple/jopt-simple/5.0.4/jopt-simple-5.0.4.jar:$M2/org/apache/commons/commons-math3/3.6.1/commons-math3-3.6.1.jar"
APT="$M2/org/openjdk/jmh/jmh-generator-annprocess/1.37/jmh-generator-annprocess-1.37.jar"
CP="$ROOT/bundles/api/target/api-$VERSION.jar:$ROOT/bundles/core/target/core-$VERSION.jar:$ROOT/bundles/target-linear/target/target-linear-$VERSION.jar:$M2/org/tinylog/tinylog-api/2.7.0/tinylog-api-2.7.0.jar:$M2/org/osgi/org.osgi.service.component.annotations/1.5.1/org.osgi.service.component.annotations-1.5.1.jar"
rm -rf "$OUT" && mkdir -p "$OUT/classes"
javac -q 2>/dev/null || true
javac -nowarn -d "$OUT/classes" -cp "$CP:$JMH" -processorpath "$APT:$JMH" $(find bench/routing/src -name '*.java')
if [[ "${1:-}" == quick ]]; then ARGS=(-f 1 -wi 2 -w 1s -i 3 -r 1s); else ARGS=(-f 2 -wi 2 -w 1s -i 4 -r 2s); fi
java -cp "$OUT/classes:$CP:$JMH" org.openjdk.jmh.Main RoutingBench "${ARGS[@]}" -rf json -rff "$OUT/result.json" | tee "$OUT/result.txt"
python3 - "$OUT/result.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
def metric(name, path):
    for r in rows:
        if r["benchmark"].endswith("." + name) and r["params"]["path"] == path:
            return r["primaryMetric"]
    raise SystemExit(f"missing {name} {path}")
def p50(path): return metric("qd1", path)["scorePercentiles"]["50.0"]
def thr(path): return metric("qd16", path)["score"]
f, l, m, ml = p50("file"), p50("linear"), p50("mem"), p50("mem-linear")
print(f"qd1  median: file {f:.2f} us, linear {l:.2f} us -> overhead {100*(l/f-1):+.1f}%")
print(f"qd16 mean  : file {thr('file'):.0f} ops/s, linear {thr('linear'):.0f} ops/s -> overhead {100*(thr('file')/thr('linear')-1):+.1f}%")
print(f"routing alone, in-memory device with inline completion, median: {m*1000:.0f} ns -> {ml*1000:.0f} ns,"
      f" +{(ml-m)*1000:.0f} ns per request = {100*(ml-m)/f:.1f}% of the file's 4 KiB QD1 read")
PY
