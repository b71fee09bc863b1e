package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;

/**
 * A framework with the core, the targets and the NBD bundle, listening on a free loopback port
 * (and a Unix socket), with helpers to make linear devices over temp files (the real NBD peers:
 * support.Peers).
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
            Waits.awaitTypes(dm, "linear");
        } catch (RuntimeException | AssertionError e) {
            close();
            throw e;
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

    /** {@code n} bytes from a Random seeded with {@code seed}: the same bytes every time, to write and then compare. */
    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }
}
