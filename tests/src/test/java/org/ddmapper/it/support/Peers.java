package org.ddmapper.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real NBD peers (qemu-io, qemu-img, qemu-nbd, nbdinfo, nbdcopy, nbdkit, fio) and other
 * programs a test runs: found or required (a missing one skips the test on a developer machine
 * and fails it with CI=true), run to their end bounded in time, and killed by pid (with their
 * children) when they overrun.
 */
public final class Peers {
    private static final List<String> DIRS = List.of("/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin", "/sbin");

    private Peers() { }

    /** The program's path; missing, it skips the test, or fails it when CI=true. */
    public static String require(String program) {
        for (String dir : DIRS) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) return p.toString();
        }
        String message = program + " is not installed (Debian: qemu-utils, libnbd-bin, nbdkit, fio, resource-agents, pacemaker, corosync; ./run-tests installs them as root)";
        if ("true".equals(System.getenv("CI"))) fail(message);
        Assumptions.abort(message);
        return null;
    }

    /** How a program ended: its exit status (-1 when it was killed on timeout), its output and stderr, how long it ran. */
    public record Result(int exit, String output, long millis) {
    }

    /**
     * Runs a program to its end with stdout and stderr in one log, /usr/bin first in PATH (nbdsh
     * needs it). On timeout it is killed by pid with its descendants and exit is -1.
     */
    public static Result run(long timeoutSeconds, String... command) throws Exception {
        Path log = Files.createTempFile("ddmapper-peer", ".log");
        long start = System.nanoTime();
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("PATH", "/usr/bin:/bin:" + System.getenv().getOrDefault("PATH", ""));
            Process p = pb.start();
            try {
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    kill(p);
                    return new Result(-1, "timed out after " + timeoutSeconds + " s: " + Files.readString(log), millis(start));
                }
            } finally {
                if (p.isAlive()) kill(p);
            }
            return new Result(p.exitValue(), Files.readString(log), millis(start));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Runs a program and asserts it exits 0; returns its output. */
    public static String ok(long timeoutSeconds, String... command) throws Exception {
        Result r = run(timeoutSeconds, command);
        assertEquals(0, r.exit(), String.join(" ", command) + " failed:\n" + r.output());
        return r.output();
    }

    /** Kills a process by pid, its descendants first, and waits (bounded) for it to go. */
    public static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long millis(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
