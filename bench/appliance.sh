# Sourced by bench/crash.sh and bench/powerloss.sh: the appliance as a bench drives it, and the tools.
#   bench_build           builds the distribution and tools/target/tools.jar when missing (mvn -o)
#   bench_dist DIR        copies the distribution to DIR/dist (no demo table: only the bench's devices)
#   appliance_start DIST HOME PORT LOG
#                         boots DIST/bin/ddmapper --no-console on HOME with NBD on 127.0.0.1:PORT, waits
#                         (at most 120 s) for its ready line; sets APP_PID and APP_READY_MS (ms to ready)
#   appliance_ddsetup HOME ARGS...   bin/ddsetup on HOME's control socket
#   tools ARGS...         the reliability tools (tools/README.md), a JVM tuned to start fast
#   free_port             an unused loopback TCP port
# Callers set ROOT (the checkout) and kill what they start by pid (APP_PID and their own).
bench_build() {
  [[ -x $ROOT/runtime/target/ddmapper/bin/ddmapper && -f $ROOT/tools/target/tools.jar ]] ||
    (cd "$ROOT" && mvn -q -o -B -DskipTests -pl runtime,tools -am package) || { echo "build failed" >&2; exit 1; }
}

bench_dist() {
  cp -r "$ROOT/runtime/target/ddmapper" "$1/dist"
  rm -f "$1/dist/etc/tables/"*.table
}

now_ms() { date +%s%3N; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

appliance_start() {
  local dist=$1 home=$2 port=$3 log=$4 t0
  t0=$(now_ms)
  DDMAPPER_JAVA_OPTS=${DDMAPPER_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC} \
    "$dist/bin/ddmapper" --no-console --http none --home "$home" --nbd "127.0.0.1:$port" >"$log" 2>&1 &
  APP_PID=$!
  for _ in $(seq 1200); do
    grep -q '^ddmapper ready' "$log" && break
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ddmapper ready' "$log" || { echo "the appliance did not come up:" >&2; tail -20 "$log" >&2; return 1; }
  APP_READY_MS=$(($(now_ms) - t0))
}

appliance_ddsetup() {
  local home=$1; shift
  "$ROOT/runtime/target/ddmapper/bin/ddsetup" --socket "$home/run/control.sock" "$@"
}

tools() {
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m --add-exports java.base/sun.nio.ch=ALL-UNNAMED -cp "$ROOT/tools/target/tools.jar:$ROOT/tools/target/lib/*" \
    org.ddmapper.tools.Main "$@"
}
