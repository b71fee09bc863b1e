package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real NBD peers (nbdkit, qemu-nbd, qemu-img, qemu-io, nbdinfo, nbdcopy, fio) for tests. A
 * missing peer skips the test on a developer machine and fails it in CI (CI=true).
 */
public final class Peers {
    private Peers() {
    }

    /** The program's path, or the test is skipped (failed in CI). */
    public static String require(String program) {
        for (String dir : new String[] {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"}) {
            File f = new File(dir, program);
            if (f.canExecute()) return f.getPath();
        }
        String message = program + " is not installed (Debian: qemu-utils, libnbd-bin, nbdkit, fio)";
        if ("true".equals(System.getenv("CI"))) fail(message);
        Assumptions.abort(message);
        return null;
    }

    /** A port that was free a moment ago. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A started process that is killed (with its pid) on close. */
    public static final class Proc implements AutoCloseable {
        public final Process process;
        private final Path log;

        Proc(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        public String output() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no output: " + e + ")";
            }
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(log);
        }
    }

    /** Starts a program in the background, output to a temp log. */
    public static Proc start(List<String> command) throws IOException {
        Path log = Files.createTempFile("peer", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PATH", "/usr/bin:/bin:/usr/sbin:" + System.getenv().getOrDefault("PATH", ""));
        return new Proc(pb.start(), log);
    }

    /** Runs a program to its end (bounded); returns its exit code and output. */
    public static Result run(long timeoutSeconds, String... command) throws Exception {
        Path log = Files.createTempFile("peer", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("PATH", "/usr/bin:/bin:/usr/sbin:" + System.getenv().getOrDefault("PATH", ""));
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                return new Result(-1, "timed out after " + timeoutSeconds + " s: " + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    public record Result(int exit, String output) {
    }

    /** nbdkit serving a plugin on a Unix socket; waits until the socket exists. */
    public static Proc nbdkitUnix(Path socket, String... pluginArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(require("nbdkit"), "--exit-with-parent", "-f", "-U", socket.toString()));
        cmd.addAll(List.of(pluginArgs));
        Proc p = start(cmd);
        long end = System.currentTimeMillis() + 10_000;
        while (!Files.exists(socket) && System.currentTimeMillis() < end) {
            if (!p.process.isAlive()) fail("nbdkit exited: " + p.output());
            Thread.sleep(20);
        }
        if (!Files.exists(socket)) fail("nbdkit did not start: " + p.output());
        return p;
    }

    /** nbdkit serving a plugin on a loopback TCP port; returns when it accepts connections. */
    public static Proc nbdkitTcp(int port, String... pluginArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(require("nbdkit"), "--exit-with-parent", "-f", "-i", "127.0.0.1",
                "-p", Integer.toString(port)));
        cmd.addAll(List.of(pluginArgs));
        Proc p = start(cmd);
        long end = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < end) {
            if (!p.process.isAlive()) fail("nbdkit exited: " + p.output());
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return p;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        p.close();
        fail("nbdkit did not listen on " + port);
        return null;
    }
}
