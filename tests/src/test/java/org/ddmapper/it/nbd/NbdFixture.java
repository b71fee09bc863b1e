package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.Assumptions;

/**
 * A framework with the core, the targets and the NBD bundle, listening on a free loopback port
 * (and a Unix socket), with helpers to make linear devices over temp files and to run the real
 * NBD peers against it.
 */
final class NbdFixture implements AutoCloseable {
    final Path dir;
    final EmbeddedFramework fw;
    final DeviceManager dm;
    final String address;
    final Path socket;

    NbdFixture() throws IOException {
        dir = Files.createTempDirectory("ddmapper-nbd-it-");
        socket = dir.resolve("nbd.sock");
        fw = EmbeddedFramework.builder().property("ddmapper.nbd.socket", socket.toString()).start();
        try {
            dm = fw.service(DeviceManager.class);
            Endpoint tcp = fw.service(Endpoint.class, "(kind=nbd)", 15_000);
            assertEquals(null, tcp.failure(), "the NBD listener is up");
            address = tcp.address();
            awaitType("linear");
        } catch (RuntimeException | AssertionError e) {
            close();
            throw e;
        }
    }

    private void awaitType(String type) {
        long end = System.currentTimeMillis() + 15_000;
        while (dm.targets().stream().noneMatch(t -> t.name().equals(type))) {
            if (System.currentTimeMillis() > end) fail("target type " + type + " never registered");
            sleep(10);
        }
    }

    /** A linear device over a new file of {@code bytes} (sparse). */
    Path linearDevice(String name, long bytes) throws IOException {
        Path file = dir.resolve(name + ".img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
        dm.create(name, "0 " + bytes / 512 + " linear " + file + " 0");
        return file;
    }

    String uri(String export) {
        return "nbd://" + address + "/" + export;
    }

    String unixUri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    @Override
    public void close() {
        if (fw != null) fw.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp files
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The program's path; a missing peer skips the test on a developer machine and fails it in CI (CI=true). */
    static String peer(String program) {
        for (String d : new String[] {"/usr/bin", "/usr/local/bin", "/bin"}) {
            File f = new File(d, program);
            if (f.canExecute()) return f.getPath();
        }
        String message = program + " is not installed (Debian: qemu-utils, libnbd-bin, nbdkit, fio)";
        if ("true".equals(System.getenv("CI"))) fail(message);
        Assumptions.abort(message);
        return null;
    }

    record Result(int exit, String output) {
    }

    /** Runs a peer to its end, bounded; kills it (by its process) on timeout. */
    static Result run(long timeoutSeconds, String... command) throws Exception {
        Path log = Files.createTempFile("nbd-peer", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("PATH", "/usr/bin:/bin:" + System.getenv().getOrDefault("PATH", ""));
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

    /** Runs a peer and asserts it exits 0; returns its output. */
    static String ok(long timeoutSeconds, String... command) throws Exception {
        Result r = run(timeoutSeconds, command);
        assertEquals(0, r.exit(), String.join(" ", command) + " failed:\n" + r.output());
        return r.output();
    }
}
