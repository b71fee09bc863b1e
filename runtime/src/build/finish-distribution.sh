#!/bin/sh
# Finishes the distribution the assembly laid out (run by Maven in the package phase, after it):
#   1. java/      a Java runtime trimmed to the modules the appliance uses (jlink from the building
#                 JDK's jmods; rebuilt only when the JDK or the module list changed);
#   2. lib/*.jsa  class-data-sharing archives of the appliance and of ddsetup (bin/cds-archive);
#   3. ../ddmapper.tar.gz, the same tree as one archive (without any state under var/) — written last:
#                 ./ddmapper's build-if-stale compares sources against it.
# Usage: finish-distribution.sh DIST JDK_HOME
set -eu
dist=$1
jdk=$2
# java.base and what the bundles reach: JNA (jdk.unsupported, java.logging), tinylog (java.management,
# java.naming, java.sql), Felix and SCR (java.xml), and Felix HTTP's Jetty 11 (bundles/web), whose manifest
# imports java.awt and java.beans (java.desktop, about 12 MiB) and java.rmi without resolution:=optional:
# the framework resolves a bundle's java.* imports against the runtime's modules, so without them Jetty
# would not resolve. NBD over TLS (the JDK's SSLEngine, in java.base) needs jdk.crypto.ec for EC
# certificates and the ECDHE key exchanges clients offer.
modules=java.base,java.desktop,java.logging,java.management,java.naming,java.rmi,java.sql,java.xml,jdk.crypto.ec,jdk.unsupported
stamp="$modules $(cat "$jdk/release" 2>/dev/null | grep -E '^(JAVA_RUNTIME_VERSION|IMPLEMENTOR)=' | tr '\n' ' ')"

if [ ! -d "$jdk/jmods" ] || [ ! -x "$jdk/bin/jlink" ]; then
  echo "finish-distribution: $jdk has no jmods (Debian: openjdk-17-jdk-headless); the distribution runs on JAVA_HOME's or PATH's java" >&2
  rm -rf "$dist/java"
elif [ ! -f "$dist/java/ddmapper-jlink" ] || [ "$(cat "$dist/java/ddmapper-jlink")" != "$stamp" ]; then
  rm -rf "$dist/java"
  # --generate-cds-archive: the runtime's own base archive (lib/server/classes.jsa), which lib/ddmapper.jsa extends
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=2 \
    --generate-cds-archive --output "$dist/java" >/dev/null
  rm -f "$dist/java/lib/server/classes_nocoops.jsa"   # only for heaps over 32 GiB
  printf '%s' "$stamp" > "$dist/java/ddmapper-jlink"
fi

"$dist/bin/cds-archive"

parent=$(dirname "$dist")
out=$parent/ddmapper.tar.gz
( cd "$parent" && { find ddmapper -path ddmapper/var -prune -o -print; echo ddmapper/var; echo ddmapper/var/README.md; } ) |
  tar -C "$parent" --owner=0 --group=0 --no-recursion -czf "$out.tmp" -T -
mv "$out.tmp" "$out"
