package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * runtime/build-if-stale (run by ./ddmapper and ./ddsetup) rebuilds the distribution exactly when a
 * source, pom.xml or etc/ file is newer than the last build. It runs here on a small copy of the tree's
 * layout with a stub {@code mvn} first on the PATH that records its arguments and touches the stamp,
 * as a real build does; modification times are set, not waited for.
 */
@Timeout(60)
class BuildIfStaleTest {

    private static final Instant BUILT = Instant.parse("2026-01-01T12:00:00Z");

    @TempDir
    Path root;
    Path bin;
    Path calls;

    @BeforeEach
    void aBuiltTree() throws IOException {
        Path script = Appliance.distribution().resolve("../../build-if-stale").normalize();
        Files.createDirectories(root.resolve("runtime"));
        Files.copy(script, root.resolve("runtime/build-if-stale"));
        Files.setLastModifiedTime(root.resolve("runtime/build-if-stale"), FileTime.from(BUILT.minusSeconds(3600)));
        old(root.resolve("pom.xml"));
        old(root.resolve("etc/tables/demo.table"));
        old(root.resolve("runtime/src/main/java/org/ddmapper/runtime/Main.java"));
        old(root.resolve("bundles/target-linear/src/main/java/org/ddmapper/targets/linear/LinearTarget.java"));
        old(root.resolve("bundles/target-linear/pom.xml"));
        old(root.resolve("bundles/target-linear/target/classes/org/ddmapper/targets/linear/LinearTarget.class"));
        old(root.resolve("runtime/target/ddmapper/bin/ddmapper")).toFile().setExecutable(true);
        Files.setLastModifiedTime(old(root.resolve("runtime/target/ddmapper.tar.gz")), FileTime.from(BUILT));

        bin = Files.createDirectories(root.resolve("stub-bin"));
        calls = root.resolve("mvn-calls");
        stub("mvn", "echo \"$*\" >> '" + calls + "'\ntouch runtime/target/ddmapper.tar.gz\n");
        stub("java", "exit 0\n");
    }

    @Test
    void nothingChangedRunsNoBuild() throws Exception {
        Result result = run();
        assertEquals(new Result(0, "", List.of()), result);
    }

    @Test
    void aChangedSourceRebuildsOnce() throws Exception {
        Path source = root.resolve("bundles/target-linear/src/main/java/org/ddmapper/targets/linear/LinearTarget.java");
        Files.setLastModifiedTime(source, FileTime.from(BUILT.plusSeconds(60)));
        Result result = run();
        assertEquals(0, result.code(), result.toString());
        assertEquals(List.of("-q -B -Dstyle.color=never -DskipTests -pl runtime -am package"), result.mvnCalls());
        assertEquals("ddmapper: " + source + " changed; rebuilding the distribution\n", result.stderr());

        // the build touched the stamp: the next run builds nothing
        assertEquals(new Result(0, "", List.of()), run());
    }

    @Test
    void changedBuildOutputIsNotASourceChange() throws Exception {
        newer(root.resolve("bundles/target-linear/target/classes/org/ddmapper/targets/linear/LinearTarget.class"));
        newer(root.resolve("runtime/target/ddmapper/bin/ddmapper"));
        assertEquals(new Result(0, "", List.of()), run());
    }

    @Test
    void aChangedEtcFileOrPomRebuilds() throws Exception {
        newer(root.resolve("etc/tables/demo.table"));
        Result result = run();
        assertEquals(1, result.mvnCalls().size(), result.toString());
        newer(root.resolve("bundles/target-linear/pom.xml"));
        Files.setLastModifiedTime(root.resolve("runtime/target/ddmapper.tar.gz"), FileTime.from(BUILT));
        assertEquals(1, run().mvnCalls().size());
    }

    @Test
    void aMissingDistributionIsBuilt() throws Exception {
        Files.delete(root.resolve("runtime/target/ddmapper.tar.gz"));
        Result result = run();
        assertEquals(0, result.code(), result.toString());
        assertEquals(1, result.mvnCalls().size(), result.toString());
        assertEquals("ddmapper: building the distribution (runtime/target/ddmapper)\n", result.stderr());
    }

    @Test
    void aFailedBuildShowsMavensOutputAndFails() throws Exception {
        stub("mvn", "echo '[ERROR] COMPILATION ERROR'\nexit 1\n");
        newer(root.resolve("runtime/src/main/java/org/ddmapper/runtime/Main.java"));
        Result result = run();
        assertEquals(1, result.code(), result.toString());
        assertTrue(result.stderr().contains("[ERROR] COMPILATION ERROR\n"), result.stderr());
        assertTrue(result.stderr().endsWith("ddmapper: the build failed (mvn -DskipTests -pl runtime -am package)\n"),
                result.stderr());
        assertFalse(Files.exists(calls));
    }

    record Result(int code, String stderr, List<String> mvnCalls) {
    }

    private Result run() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(root.resolve("runtime/build-if-stale").toString())
                .redirectInput(new File("/dev/null"));
        builder.environment().put("PATH", bin + File.pathSeparator + System.getenv("PATH"));
        Process process = builder.start();
        String stdout = new String(process.getInputStream().readAllBytes());
        String stderr = new String(process.getErrorStream().readAllBytes());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "build-if-stale did not exit");
        assertEquals("", stdout);
        List<String> mvn = Files.exists(calls) ? Files.readAllLines(calls) : List.of();
        Files.deleteIfExists(calls);
        return new Result(process.exitValue(), stderr, mvn);
    }

    private static Path old(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "x\n");
        Files.setLastModifiedTime(file, FileTime.from(BUILT.minusSeconds(3600)));
        return file;
    }

    private static void newer(Path file) throws IOException {
        Files.setLastModifiedTime(file, FileTime.from(BUILT.plusSeconds(60)));
    }

    private void stub(String name, String body) throws IOException {
        Path file = bin.resolve(name);
        Files.writeString(file, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
