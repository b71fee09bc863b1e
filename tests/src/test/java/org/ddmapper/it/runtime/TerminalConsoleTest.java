package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console as a person at a terminal has it: bin/ddmapper on a pseudo-terminal (util-linux
 * {@code script}, whose stdin the test types into; a Ctrl-C typed there is a real SIGINT from the
 * terminal's line discipline, Ctrl-D a real end of input).
 */
@Timeout(240)
class TerminalConsoleTest {

    private static final Duration BOOT = Appliance.READY_TIMEOUT;
    private static final Duration ANSWER = Duration.ofSeconds(30);
    private static final Pattern PROMPT = Pattern.compile("(?m)^g! ");

    @TempDir
    Path home;
    private Terminal terminal;

    @AfterEach
    void killWhatIsLeft() {
        if (terminal != null) {
            terminal.kill();
        }
    }

    @Test
    void ctrlCInterruptsTheRunningCommandNotTheApplianceAndCtrlDEndsItCleanly() throws Exception {
        terminal = Terminal.start("exec " + ddmapper(), null);
        terminal.await("the ready line and the prompt", BOOT, "ddmapper ready: nbd=127.0.0.1:");
        terminal.awaitPrompt();

        int mark = terminal.type("lb\n");
        terminal.await("lb's listing", ANSWER, mark, "|ddmapper core (");
        terminal.awaitPromptAfter(mark);

        // two events on the demo device, so that dm:events prints something before it starts to follow
        terminal.awaitPromptAfter(terminal.type("dm:suspend demo\n"));
        terminal.awaitPromptAfter(terminal.type("dm:resume demo\n"));
        mark = terminal.type("dm:events demo\n");
        terminal.await("dm:events' history", ANSWER, mark, " resumed");
        int interrupted = terminal.type("\003"); // Ctrl-C while dm:events follows the device
        terminal.awaitPromptAfter(interrupted);
        assertTrue(terminal.isAlive(), terminal.text());

        // Ctrl-C at the prompt: a fresh prompt, as in a shell
        terminal.awaitPromptAfter(terminal.type("\003"));
        mark = terminal.type("dm:status demo\n");
        terminal.await("the appliance answers after Ctrl-C", ANSWER, mark, "0 131072 linear");

        List<ProcessHandle> processes = terminal.processes();
        terminal.type("\004"); // Ctrl-D: the end of the console's input ends the appliance
        assertEquals(0, terminal.awaitExit(), terminal.text());
        for (ProcessHandle p : processes) {
            Waits.await("pid " + p.pid() + " gone", ANSWER, () -> !p.isAlive());
        }
    }

    @Test
    void theConsoleComesUpWhenStdinIsATerminalAndStdoutIsNotAndSigtermStillStopsCleanly() throws Exception {
        Path stdout = home.resolveSibling(home.getFileName() + ".stdout");
        terminal = Terminal.start("exec " + ddmapper() + " > " + stdout, stdout);
        terminal.await("the ready line and the prompt", BOOT, "ddmapper ready: nbd=127.0.0.1:");
        terminal.awaitPrompt();
        int mark = terminal.type("lb -s org.ddmapper.core\n");
        terminal.await("lb's answer", ANSWER, mark, "|org.ddmapper.core (");

        List<ProcessHandle> processes = terminal.processes();
        ProcessHandle java = processes.stream().filter(p -> p.info().command().orElse("").endsWith("java"))
                .findFirst().orElseThrow(() -> new AssertionError("no java process below script: " + processes));
        java.destroy(); // SIGTERM
        assertEquals(0, terminal.awaitExit(), terminal.text());
        for (ProcessHandle p : processes) {
            Waits.await("pid " + p.pid() + " gone", ANSWER, () -> !p.isAlive());
        }
    }

    private String ddmapper() {
        return Appliance.distribution().resolve("bin/ddmapper") + " --home " + home + " --nbd 127.0.0.1:0 --http none";
    }

    /** {@code script -qfec COMMAND /dev/null}: COMMAND on a new pseudo-terminal, its output read on a thread. */
    private static final class Terminal {
        private final Process script;
        private final StringBuilder screen = new StringBuilder();
        private final Path stdoutFile;
        private final OutputStream keyboard;

        private Terminal(Process script, Path stdoutFile) {
            this.script = script;
            this.stdoutFile = stdoutFile;
            this.keyboard = script.getOutputStream();
            Thread reader = new Thread(() -> {
                try (InputStream in = script.getInputStream()) {
                    byte[] buffer = new byte[4096];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        synchronized (screen) {
                            screen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                        }
                    }
                } catch (IOException e) {
                    synchronized (screen) {
                        screen.append("[reading the terminal failed: ").append(e).append(']');
                    }
                }
            }, "terminal-reader");
            reader.setDaemon(true);
            reader.start();
        }

        /** {@code stdoutFile}: where COMMAND sends its stdout (read as the text instead of the terminal), or null. */
        static Terminal start(String command, Path stdoutFile) throws IOException {
            ProcessBuilder builder = new ProcessBuilder("script", "-qfec", command, "/dev/null").redirectErrorStream(true);
            builder.environment().remove("DDMAPPER_HOME");
            builder.environment().put("DDMAPPER_JAVA_OPTS",
                    System.getenv().getOrDefault("DDMAPPER_JAVA_OPTS", Appliance.TEST_JAVA_OPTS));
            builder.environment().put("TERM", "dumb");
            return new Terminal(builder.start(), stdoutFile);
        }

        /** What the console printed so far (the terminal, or the stdout file). */
        String text() {
            if (stdoutFile != null) {
                try {
                    return Files.exists(stdoutFile) ? Files.readString(stdoutFile) : "";
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            synchronized (screen) {
                return screen.toString().replace("\r", "");
            }
        }

        /** Types {@code keys}; returns the length of the text before them, to look for the answer after it. */
        int type(String keys) throws IOException {
            int mark = text().length();
            keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            return mark;
        }

        void await(String what, Duration timeout, String expected) {
            await(what, timeout, 0, expected);
        }

        void await(String what, Duration timeout, int after, String expected) {
            Supplier<String> detail = () -> what + " in:\n" + text();
            try {
                Waits.await(what, timeout, () -> text().indexOf(expected, after) >= 0 || !script.isAlive());
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; " + detail.get(), e);
            }
            assertTrue(text().indexOf(expected, after) >= 0, "exited before " + detail.get());
        }

        void awaitPrompt() {
            awaitPromptAfter(0);
        }

        void awaitPromptAfter(int after) {
            try {
                Waits.await("the prompt", ANSWER, () -> {
                    String text = text();
                    return PROMPT.matcher(text).region(after, text.length()).find() || !script.isAlive();
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + " in:\n" + text(), e);
            }
            assertTrue(script.isAlive(), "exited instead of prompting:\n" + text());
        }

        boolean isAlive() {
            return script.isAlive();
        }

        /** script and everything below it (the appliance's JVM). */
        List<ProcessHandle> processes() {
            return java.util.stream.Stream.concat(java.util.stream.Stream.of(script.toHandle()), script.descendants()).toList();
        }

        int awaitExit() throws InterruptedException {
            assertTrue(script.waitFor(Appliance.STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
                    "the appliance did not end within " + Appliance.STOP_TIMEOUT.toSeconds() + " s:\n" + text());
            return script.exitValue();
        }

        void kill() {
            script.descendants().forEach(ProcessHandle::destroyForcibly);
            script.destroyForcibly();
        }
    }
}
