package org.ddmapper.it.walk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Terminal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root README's five-minute tour, run as written: every command of its {@code sh} blocks, in
 * order, from the checkout, with the tour's home {@code /tmp/dd} replaced by a temp home and its
 * ports (NBD 10809, the path servers 10810 and 10811) by free ones. A comment after a command is a
 * line its output must hold ({@code …} any text, whitespace runs equal, {@code (exit N)} its exit
 * status, else 0); a console block's lines ({@code g! ...}) are typed at the console of the appliance
 * the tour boots (the same distribution on a pseudo-terminal, in the home, with a free NBD port),
 * the others run in a shell from the checkout. Not run: the upgrade block (its jar is a placeholder)
 * and the demo (FailoverDemoTest). The tour's failover leaves no path server running, and Ctrl-D
 * at its console ends the appliance with status 0.
 */
@Timeout(300)
class ReadmeTourTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern BLOCK = Pattern.compile("```(sh)?\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern READY = Pattern.compile("ddmapper ready: nbd=127\\.0\\.0\\.1:(\\d+) ");
    private static final Pattern COMMENTED = Pattern.compile("^(.*?\\S)\\s+# (.*)$");
    private static final Pattern EXIT = Pattern.compile("^(.*?)\\s*\\(exit (\\d+)\\)$");

    @TempDir
    Path home;

    /** The tour's sh blocks and console blocks (every line {@code g! ...}), in order. */
    static List<String> tourBlocks() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int start = readme.indexOf("\n## A five-minute tour\n");
        int end = readme.indexOf("\n## ", start + 1);
        assertTrue(start >= 0 && end > start, "README.md has its tour section");
        Matcher m = BLOCK.matcher(readme.substring(start, end));
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            if (m.group(1) != null || m.group(2).lines().allMatch(l -> l.startsWith("g! "))) blocks.add(m.group(2));
        }
        return blocks;
    }

    @Test
    void everyCommandOfTheTourGivesWhatTheReadmeSays() throws Exception {
        for (String peer : List.of("nbdkit", "nbdinfo", "qemu-io")) Peers.require(peer);
        List<String> blocks = tourBlocks();
        assertEquals("./ddmapper --home /tmp/dd\n", blocks.get(0), "the tour boots with ./ddmapper --home /tmp/dd");
        int run = 0;
        // the tour boots with a console at the terminal: so does the test, on a pseudo-terminal
        Terminal console = Terminal.start("exec " + Appliance.distribution().resolve("bin/ddmapper") + " --home " + home + " --nbd 127.0.0.1:0 --http none", null);
        try {
            console.await("the ready line", Appliance.READY_TIMEOUT, "ddmapper ready: nbd=127.0.0.1:");
            console.awaitPrompt();
            Matcher ready = READY.matcher(console.text());
            assertTrue(ready.find(), console.text());
            String p1 = Integer.toString(freePort());
            String p2 = Integer.toString(freePort());
            String[][] replace = {
                {"/tmp/dd", home.toString()},
                {"127.0.0.1:10809", "127.0.0.1:" + ready.group(1)},
                {"127.0.0.1:10810", "127.0.0.1:" + p1},
                {"--port 10810", "--port " + p1},
                {"127.0.0.1:10811", "127.0.0.1:" + p2},
                {"--port 10811", "--port " + p2},
            };
            try {
                for (String block : blocks.subList(1, blocks.size())) {
                    if (block.contains("./ddsetup upgrade org.ddmapper.target.linear /path/to/")) continue;
                    if (block.equals("examples/failover-demo.sh --all\n")) continue;
                    for (String line : block.split("\n")) {
                        if (line.isBlank() || line.startsWith("#")) continue;
                        if (line.startsWith("g! ")) {
                            typeLine(console, line.substring(3), replace);
                        } else {
                            runLine(line, replace);
                        }
                        run++;
                    }
                }
                for (String pidFile : List.of("p1.pid", "p2.pid")) {
                    long pid = Long.parseLong(Files.readString(home.resolve(pidFile)).trim());
                    assertTrue(waitGone(pid), "the tour's last line stops path server " + pidFile + " (pid " + pid + ")");
                }
            } finally {
                for (String pidFile : List.of("p1.pid", "p2.pid")) killFromPidFile(home.resolve(pidFile));
            }
            console.type("\004"); // Ctrl-D ends the console and the appliance
            assertEquals(0, console.awaitExit(), console.text());
        } finally {
            console.kill();
        }
        assertTrue(run >= 25, "the tour's commands ran: " + run);
    }

    /** A line of the tour: the command, the line its output must hold (or null), its exit status. */
    private record Step(String line, String command, String expected, int exit) {
        static Step of(String line, String[][] replace) {
            String command = line;
            String expected = null;
            int exit = 0;
            Matcher c = COMMENTED.matcher(line);
            if (c.matches()) {
                command = c.group(1);
                expected = c.group(2);
                Matcher e = EXIT.matcher(expected);
                if (e.matches()) {
                    expected = e.group(1);
                    exit = Integer.parseInt(e.group(2));
                }
            }
            for (String[] r : replace) {
                command = command.replace(r[0], r[1]);
                if (expected != null) expected = expected.replace(r[0], r[1]);
            }
            return new Step(line, command, expected, exit);
        }

        void check(String output) {
            if (expected == null || expected.isEmpty()) return;
            Pattern want = Pattern.compile(Arrays.stream(squeeze(expected).split("…", -1)).map(Pattern::quote).collect(Collectors.joining(".*")));
            if (output.lines().map(ReadmeTourTest::squeeze).noneMatch(l -> want.matcher(l).matches())) {
                fail("README: " + line + "\nran: " + command + "\nno line of its output is '" + expected + "':\n" + output);
            }
        }
    }

    private void runLine(String line, String[][] replace) throws Exception {
        Step step = Step.of(line, replace);
        Peers.Result r = Peers.run(90, "env", "DDMAPPER_HOME=" + home, "bash", "-c", "cd " + ROOT + " && " + step.command());
        assertEquals(step.exit(), r.exit(), "README: " + line + "\nran: " + step.command() + "\n" + r.output());
        step.check(r.output());
    }

    private static void typeLine(Terminal console, String line, String[][] replace) throws Exception {
        Step step = Step.of(line, replace);
        int mark = console.type(step.command() + "\n");
        console.awaitPromptAfter(mark);
        String shown = console.text().substring(mark);
        step.check(shown.substring(shown.indexOf('\n') + 1)); // after the echo of what was typed
    }

    private static String squeeze(String s) {
        return s.strip().replaceAll("\\s+", " ");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean waitGone(long pid) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true)) return true;
            Thread.sleep(100);
        }
        return false;
    }

    private static void killFromPidFile(Path pidFile) throws IOException {
        if (!Files.exists(pidFile)) return;
        String text = Files.readString(pidFile).trim();
        if (text.isEmpty()) return;
        ProcessHandle.of(Long.parseLong(text)).filter(h -> h.info().command().orElse("").endsWith("nbdkit")).ifPresent(ProcessHandle::destroyForcibly);
    }

    @Test
    void theTourBlocksAreWhereTheTestLooks() throws Exception {
        List<String> blocks = tourBlocks();
        assertTrue(blocks.stream().anyMatch(b -> b.contains("./ddsetup create mp --table") && b.contains("path_reinstated")), "the failover is in the tour");
        assertTrue(blocks.stream().anyMatch(b -> b.equals("examples/failover-demo.sh --all\n")), "the demo is named in the tour");
        assertFalse(blocks.stream().anyMatch(b -> b.contains("10809") && !b.contains("127.0.0.1:10809")), "every NBD address is 127.0.0.1:10809");
    }
}
