package org.ddmapper.it.walk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/failover-demo.sh run as a newcomer runs it, without a terminal: all three parts show
 * what they promise (the client verified with zero errors through a path failure, a leg loss and a
 * snapshot; path 2 failed and came back; the mirror's leg resynced and the legs are equal; the
 * snapshot holds the origin as it was), and nothing it started is left running or on disk — after
 * a normal end and after a Ctrl-C in the middle.
 */
@Timeout(900)
class FailoverDemoTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern STARTED = Pattern.compile("\\(started (.+), pid (\\d+)\\)");

    @TempDir
    Path tmp;

    @Test
    void allThreePartsShowWhatTheyPromiseAndLeaveNothingBehind() throws Exception {
        requirePeers();
        Peers.Result r = Peers.run(840, "env", "TMPDIR=" + tmp, ROOT.resolve("examples/failover-demo.sh").toString(), "--all");
        String out = r.output();
        assertEquals(0, r.exit(), out);

        assertTrue(out.matches("(?s).*\\nRESULT failover: OK: client [1-9]\\d* rounds verified, 0 errors; path 2 failed and came back\\n.*"), out);
        assertTrue(out.contains("path 1 active/ready  path 2 failed/faulty"), "path 2 shown failed while its server was down:\n" + out);
        assertTrue(out.matches("(?s).*\\n    mp \\S+ path_failed .*\\n    mp \\S+ path_reinstated .*"), "the map's events:\n" + out);
        assertTrue(out.matches("(?s).*`- 2 nbd://127\\.0\\.0\\.1:\\d+/lun active ready nbd fail=1.*"), "multipath -ll at the end:\n" + out);

        assertTrue(out.matches("(?s).*\\nRESULT mirror: OK: client [1-9]\\d* rounds verified, 0 errors; leg 1 failed, came back and resynced; legs equal\\n.*"), out);
        assertTrue(out.contains("leg states AD"), "leg 1 shown failed:\n" + out);
        assertTrue(out.contains("regions in sync 512/512, leg states AA"), "the resync ran to its end:\n" + out);
        assertTrue(out.matches("(?s).*\\n    m \\S+ mirror_leg_failed .*\\n    m \\S+ mirror_recovery_complete .*"), "the mirror's events:\n" + out);

        assertTrue(out.matches("(?s).*\\nRESULT snapshot: OK: snapshot matches the origin as it was when taken; origin changed since in [1-9]\\d* bytes\\n.*"), out);
        assertTrue(out.contains("snap read over NBD against the reference: identical"), out);

        assertNothingLeft(out);
    }

    @Test
    void ctrlCInTheMiddleStopsEverythingItStarted() throws Exception {
        requirePeers();
        Path log = tmp.resolve("demo.log");
        Path scratch = Files.createDirectory(tmp.resolve("scratch"));
        ProcessBuilder pb = new ProcessBuilder("env", "TMPDIR=" + scratch, ROOT.resolve("examples/failover-demo.sh").toString(), "--all")
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PATH", "/usr/bin:/bin:" + System.getenv().getOrDefault("PATH", ""));
        Process demo = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (!Files.readString(log).contains("started client writing and verifying") && demo.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(demo.isAlive(), "the demo ended before its client started:\n" + Files.readString(log));
            // env execs the script: its pid is the shell's. SIGINT, as a Ctrl-C at a terminal sends it.
            Peers.ok(10, "kill", "-INT", Long.toString(demo.pid()));
            assertTrue(demo.waitFor(60, TimeUnit.SECONDS), "the demo did not end after SIGINT:\n" + Files.readString(log));
            String out = Files.readString(log);
            assertEquals(130, demo.exitValue(), out);
            assertTrue(out.contains("==> interrupted: cleaning up"), out);
            assertNothingLeft(out);
            try (Stream<Path> left = Files.list(scratch)) {
                assertEquals(List.of(), left.toList(), "the scratch directory was removed");
            }
        } finally {
            if (demo.isAlive()) Peers.kill(demo);
        }
    }

    @Test
    void anUnknownArgumentIsNamedAndNothingStarts() throws Exception {
        Peers.Result r = Peers.run(30, "env", "TMPDIR=" + tmp, ROOT.resolve("examples/failover-demo.sh").toString(), "--mirorr");
        assertEquals(64, r.exit(), r.output());
        assertEquals("failover-demo: unknown argument '--mirorr' (see --help)\n", r.output());
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "no scratch directory was made");
        }
    }

    /** Every process the demo said it started, it also said it stopped, and none of them is alive. */
    private void assertNothingLeft(String out) throws IOException {
        Matcher m = STARTED.matcher(out);
        List<String> started = new ArrayList<>();
        while (m.find()) {
            String pid = m.group(2);
            started.add(m.group(1));
            assertTrue(out.contains("stopped pid " + pid + " ("), "pid " + pid + " (" + m.group(1) + ") was not stopped:\n" + out);
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(h ->
                    assertFalse(h.isAlive() && h.info().command().orElse("").matches(".*(java|nbdkit|ddsetup|bash|qemu-io)$"),
                            "pid " + pid + " (" + started.get(started.size() - 1) + ") still runs"));
        }
        assertTrue(started.stream().anyMatch(s -> s.equals("appliance")), out);
        assertTrue(started.stream().anyMatch(s -> s.startsWith("nbdkit lun")), out);
        try (Stream<Path> left = Files.list(tmp)) {
            assertFalse(left.anyMatch(p -> p.getFileName().toString().startsWith("ddmapper-demo.")), "the scratch directory was removed");
        }
    }

    private static void requirePeers() {
        for (String peer : List.of("nbdkit", "qemu-io", "nbdcopy", "nbdinfo", "python3")) Peers.require(peer);
        assertTrue(Files.isExecutable(ROOT.resolve("runtime/target/ddmapper/bin/ddmapper")), "the distribution is built (-pl tests -am)");
    }
}
