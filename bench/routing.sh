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
if [[ "${1:-}" == quick ]]; then ARGS=(-f 1 -wi 2 -w 1s -i 3 -r 1s); else ARGS=(-f 2 -wi 3 -w 2s -i 5 -r 3s); fi
java -cp "$OUT/classes:$CP:$JMH" org.openjdk.jmh.Main RoutingBench "${ARGS[@]}" -rf json -rff "$OUT/result.json" | tee "$OUT/result.txt"
python3 - "$OUT/result.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
score = {(r["benchmark"].rsplit(".", 1)[1], r["params"]["path"]): r["primaryMetric"]["score"] for r in rows}
qd1 = score[("qd1", "linear")] / score[("qd1", "file")]
qd16 = score[("qd16", "file")] / score[("qd16", "linear")]
print(f"qd1 : file {score[('qd1','file')]:.2f} us/op, linear {score[('qd1','linear')]:.2f} us/op -> overhead {100*(qd1-1):+.1f}%")
print(f"qd16: file {score[('qd16','file')]:.0f} ops/s, linear {score[('qd16','linear')]:.0f} ops/s -> overhead {100*(qd16-1):+.1f}%")
PY
