package org.ddmapper.it.support;

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

/**
 * {@code script -qfec COMMAND /dev/null}: COMMAND (the appliance with its Gogo console) on a new
 * pseudo-terminal, as a person at a terminal has it; the test types into its stdin (a Ctrl-C there
 * is a real SIGINT from the line discipline, Ctrl-D a real end of input) and reads what it shows.
 */
public final class Terminal {
    /** How long a command may take to answer at the console. */
    public static final Duration ANSWER = Duration.ofSeconds(30);
    private static final Pattern PROMPT = Pattern.compile("(?m)^g! ");

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
    public static Terminal start(String command, Path stdoutFile) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("script", "-qfec", command, "/dev/null").redirectErrorStream(true);
        builder.environment().remove("DDMAPPER_HOME");
        builder.environment().put("DDMAPPER_JAVA_OPTS",
                System.getenv().getOrDefault("DDMAPPER_JAVA_OPTS", Appliance.TEST_JAVA_OPTS));
        builder.environment().put("TERM", "dumb");
        return new Terminal(builder.start(), stdoutFile);
    }

    /** What the console printed so far (the terminal, or the stdout file). */
    public String text() {
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
    public int type(String keys) throws IOException {
        int mark = text().length();
        keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
        return mark;
    }

    public void await(String what, Duration timeout, String expected) {
        await(what, timeout, 0, expected);
    }

    public void await(String what, Duration timeout, int after, String expected) {
        Supplier<String> detail = () -> what + " in:\n" + text();
        try {
            Waits.await(what, timeout, () -> text().indexOf(expected, after) >= 0 || !script.isAlive());
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; " + detail.get(), e);
        }
        assertTrue(text().indexOf(expected, after) >= 0, "exited before " + detail.get());
    }

    public void awaitPrompt() {
        awaitPromptAfter(0);
    }

    public void awaitPromptAfter(int after) {
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

    public boolean isAlive() {
        return script.isAlive();
    }

    /** script and everything below it (the appliance's JVM). */
    public List<ProcessHandle> processes() {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(script.toHandle()), script.descendants()).toList();
    }

    public int awaitExit() throws InterruptedException {
        assertTrue(script.waitFor(Appliance.STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
                "the appliance did not end within " + Appliance.STOP_TIMEOUT.toSeconds() + " s:\n" + text());
        return script.exitValue();
    }

    public void kill() {
        script.descendants().forEach(ProcessHandle::destroyForcibly);
        script.destroyForcibly();
    }
}
