#!/usr/bin/env bash
# Coverage-guided fuzzing: runs each Jazzer fuzz test of the tree (every @FuzzTest method of a
# *FuzzTest class) for a chosen time, one after the other, and prints per fuzzer the executions,
# executions per second, coverage (libFuzzer's "cov": instrumented edges reached; "ft": features),
# the size of its generated corpus and its findings.
#
# Usage: bench/fuzz.sh [-t SECONDS] [-o] [-l] [FILTER...]
#   -t SECONDS  fuzzing time per fuzzer (default 60)
#   -o          Maven offline (-o)
#   -l          list the fuzzers and exit
#   FILTER      fuzz only those whose module, Class#method or method contains one of these words
# Run it quietly on a shared machine: `nice -n 19 bench/fuzz.sh -t 600 nbd`.
#
# What it does per fuzzer: `JAZZER_FUZZ=1 mvn test -pl MODULE -am -Dtest=Class#method` (Jazzer fuzzes
# the one selected fuzz test in surefire's fuzz-corpus execution; see the root pom), with libFuzzer's
# -max_total_time and a per-input -timeout of 10 s passed through jazzer-junit's argument properties
# (jazzer.internal.arg.N: jazzer-junit 0.24 has no public way to set the time from outside the
# annotation). The generated corpus grows in MODULE/.cifuzz-corpus/ (not in git) and is reused by the
# next run; a finding is written as crash-<sha1> into the fuzzer's seed directory under
# src/test/resources/<package>/<Class>Inputs/<method>/, where the normal build replays it: fix the code,
# give the file a name that says what it was, commit both. The full log of each run is kept in
# ${TMPDIR:-/tmp}/ddmapper-fuzz.<pid>/ (its path is printed). Exit status 1 when there was a finding.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
SECONDS_EACH=60
OFFLINE=()
LIST=0
while getopts "t:ol" opt; do
  case $opt in
    t) SECONDS_EACH=$OPTARG ;;
    o) OFFLINE=(-o) ;;
    l) LIST=1 ;;
    *) sed -n '2,12p' "$0"; exit 64 ;;
  esac
done
shift $((OPTIND - 1))
[[ $SECONDS_EACH =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: -t wants a whole number of seconds" >&2; exit 64; }

# module<TAB>Class<TAB>method for every @FuzzTest, from the sources
fuzzers() {
  local file module rel cls
  while IFS= read -r file; do
    module=${file%%/src/test/java/*}
    rel=${file#*/src/test/java/}
    cls=${rel%.java}; cls=${cls//\//.}
    if [[ $file != *FuzzTest.java ]]; then
      echo "fuzz.sh: warning: $file has @FuzzTest but its name does not end in FuzzTest: the build never replays it" >&2
      continue
    fi
    awk '/^[[:space:]]*@FuzzTest/ { want = 1; next } want && match($0, /void [A-Za-z0-9_]+\(/) { print substr($0, RSTART + 5, RLENGTH - 6); want = 0 }' "$file" |
      while IFS= read -r method; do printf '%s\t%s\t%s\n' "$module" "$cls" "$method"; done
  done < <(grep -rlE --include='*.java' '^[[:space:]]*@FuzzTest' bundles/*/src/test runtime/src/test tests/src/test 2>/dev/null | sort)
}

selected() {
  local module=$1 cls=$2 method=$3 f
  (($# > 3)) || return 0
  shift 3
  for f in "$@"; do
    [[ $module == *"$f"* || ${cls##*.}#$method == *"$f"* ]] && return 0
  done
  return 1
}

mapfile -t ALL < <(fuzzers)
RUN=()
for line in "${ALL[@]}"; do
  IFS=$'\t' read -r module cls method <<<"$line"
  selected "$module" "$cls" "$method" "$@" && RUN+=("$line")
done
((${#RUN[@]})) || { echo "fuzz.sh: no fuzzer matches: $*" >&2; exit 64; }
if ((LIST)); then
  for line in "${RUN[@]}"; do IFS=$'\t' read -r module cls method <<<"$line"; echo "$module ${cls##*.}#$method"; done
  exit 0
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/ddmapper-fuzz.XXXXXX")
echo "fuzz.sh: ${#RUN[@]} fuzzers, ${SECONDS_EACH} s each; logs in $LOGS"
printf '%-22s %-34s %6s %12s %9s %6s %7s %7s %s\n' module fuzzer secs executions exec/s cov ft corpus findings
total_exec=0 total_findings=0
for line in "${RUN[@]}"; do
  IFS=$'\t' read -r module cls method <<<"$line"
  name=${cls##*.}#$method
  log=$LOGS/${module//\//_}.$name.log
  seeds=$module/src/test/resources/${cls//.//}Inputs/$method
  before=$(ls "$seeds" 2>/dev/null | grep -c '^crash-')
  # a heap of its own (the JVM's default is a quarter of the machine) and a serial collector: one core each
  JAVA_TOOL_OPTIONS="-Xmx1g -XX:+UseSerialGC" JAZZER_FUZZ=1 mvn -B -q "${OFFLINE[@]}" test -pl "$module" -am \
      -Dtest="$cls#$method" -Dsurefire.failIfNoSpecifiedTests=false \
      -Dfuzz.timeout.mode=disabled -Djazzer.instrumentation_includes='org.ddmapper.**' \
      -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$SECONDS_EACH" \
      -Djazzer.internal.arg.2=-timeout=10 >"$log" 2>&1
  rc=$?
  stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n1)
  execs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n1)
  secs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -n1)
  [[ -n $execs ]] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$stats")
  execs=${execs:-0}
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$stats")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$stats")
  corpus=$(ls "$module/.cifuzz-corpus/$cls/$method" 2>/dev/null | wc -l)
  after=$(ls "$seeds" 2>/dev/null | grep -c '^crash-')
  findings=$((after - before))
  if ((rc != 0 && findings == 0)); then
    findings=1   # a failure Jazzer did not save as an input (a timeout, a build error): see the log
  fi
  rate=$([[ -n $secs && $secs -gt 0 ]] && echo $((execs / secs)) || echo -)
  printf '%-22s %-34s %6s %12s %9s %6s %7s %7s %s\n' "${module#bundles/}" "$name" "${secs:--}" "$execs" "$rate" \
      "${cov:--}" "${ft:--}" "$corpus" "$findings"
  if ((findings)); then
    grep -E 'FuzzTestFinding|Exception:|Error:' "$log" | grep -v '^INFO' | head -n 3 | sed 's/^/    /'
    ls "$seeds"/crash-* 2>/dev/null | sed 's/^/    new input: /'
    echo "    log: $log"
  fi
  total_exec=$((total_exec + execs))
  total_findings=$((total_findings + findings))
done
echo "fuzz.sh: ${#RUN[@]} fuzzers, $total_exec executions, $total_findings findings"
((total_findings == 0))
