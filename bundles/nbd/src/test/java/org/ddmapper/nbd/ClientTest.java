package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The NBD client (the nbd and nbd+unix block-device provider) against our server and real peers. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientTest extends ServerTestBase {
    @TempDir
    Path dir;

    private final NbdClientProvider provider = new NbdClientProvider();

    @Override
    org.ddmapper.nbd.internal.ServerLimits limits() {
        return org.ddmapper.nbd.internal.ServerLimits.DEFAULTS.withShutdownGraceMillis(300);
    }

    private String uri(String export) {
        return "nbd://127.0.0.1:" + address.getPort() + "/" + export;
    }

    static IoStatus io(BlockDevice d, BioOp op, long sector, ByteBuffer data, long lengthSectors, int flags) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        d.submit(Bio.of(op, sector, lengthSectors, data, flags, f::complete));
        return f.get(20, TimeUnit.SECONDS);
    }

    static IoStatus read(BlockDevice d, long sector, ByteBuffer into) throws Exception {
        return io(d, BioOp.READ, sector, into, into.remaining() / 512, 0);
    }

    static IoStatus write(BlockDevice d, long sector, ByteBuffer from, int flags) throws Exception {
        return io(d, BioOp.WRITE, sector, from, from.remaining() / 512, flags);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void readsAndWritesThroughOurServer() throws Exception {
        try (BlockDevice d = provider.open(uri("disk"), false)) {
            assertEquals(DISK_BYTES / 512, d.sizeSectors());
            assertEquals(512, d.logicalBlockBytes());
            assertFalse(d.readOnly());
            assertTrue(d.supports(BioOp.DISCARD) && d.supports(BioOp.WRITE_ZEROES));
            byte[] data = random(1 << 20, 1);
            assertEquals(IoStatus.OK, write(d, 2048, ByteBuffer.wrap(data), Bio.FUA));
            assertArrayEquals(data, devices.device("disk").bytes(2048 * 512L, data.length));
            ByteBuffer back = ByteBuffer.allocateDirect(data.length);
            assertEquals(IoStatus.OK, read(d, 2048, back));
            byte[] got = new byte[data.length];
            back.get(got);
            assertArrayEquals(data, got);
            assertEquals(IoStatus.OK, io(d, BioOp.WRITE_ZEROES, 2048, null, 8, Bio.NO_HOLE));
            assertArrayEquals(new byte[4096], devices.device("disk").bytes(2048 * 512L, 4096));
            assertEquals(IoStatus.OK, io(d, BioOp.DISCARD, 0, null, 2048, 0));
            long flushes = devices.flushes();
            assertEquals(IoStatus.OK, io(d, BioOp.FLUSH, 0, null, 0, 0));
            assertEquals(flushes + 1, devices.flushes());
        }
    }

    @Test
    void requestsLargerThanTheServerMaximumAreSplit() throws Exception {
        devices.add("huge", 80 << 20, false);
        try (BlockDevice d = provider.open(uri("huge"), false)) {
            byte[] data = random(70 << 20, 2);
            assertEquals(IoStatus.OK, write(d, 0, ByteBuffer.wrap(data), 0));
            ByteBuffer back = ByteBuffer.allocate(data.length);
            assertEquals(IoStatus.OK, read(d, 0, back));
            assertArrayEquals(data, back.array());
        }
    }

    @Test
    void manyRequestsInFlightFromManyThreads() throws Exception {
        try (BlockDevice d = provider.open(uri("disk"), false)) {
            List<CompletableFuture<IoStatus>> all = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                CompletableFuture<IoStatus> f = new CompletableFuture<>();
                ByteBuffer b = ByteBuffer.allocateDirect(4096);
                b.put(random(4096, i)).flip();
                d.submit(Bio.write(i * 8L, b, 0, f::complete));
                all.add(f);
            }
            for (CompletableFuture<IoStatus> f : all) assertEquals(IoStatus.OK, f.get(20, TimeUnit.SECONDS));
            for (int i = 0; i < 500; i += 37) {
                assertArrayEquals(random(4096, i), devices.device("disk").bytes(i * 4096L, 4096));
            }
        }
    }

    @Test
    void serverErrorsComeBackAsErrnos() throws Exception {
        try (BlockDevice d = provider.open(uri("ro"), true)) {
            assertTrue(d.readOnly());
            IoStatus s = write(d, 0, ByteBuffer.allocate(512), 0);
            assertEquals(Errno.EROFS, s.errno(), "refused locally: " + s);
            IoStatus beyond = read(d, RO_BYTES / 512, ByteBuffer.allocate(512));
            assertEquals(Errno.EINVAL, beyond.errno());
        }
    }

    @Test
    void openingRefusals() {
        DmException unknown = assertThrows(DmException.class, () -> provider.open(uri("nope"), false));
        assertEquals(Errno.ENODEV, unknown.errno());
        assertTrue(unknown.getMessage().contains("no export named 'nope'"), unknown.getMessage());
        DmException ro = assertThrows(DmException.class, () -> provider.open(uri("ro"), false));
        assertEquals(Errno.EROFS, ro.errno());
        DmException refused = assertThrows(DmException.class, () -> provider.open("nbd://127.0.0.1:1/x", false));
        assertEquals(Errno.ECONNREFUSED, refused.errno());
        assertTrue(refused.getMessage().startsWith("nbd://127.0.0.1:1/x: "), refused.getMessage());
        DmException bad = assertThrows(DmException.class, () -> provider.open("nbd+unix:///x", false));
        assertEquals(Errno.EINVAL, bad.errno());
        assertTrue(bad.getMessage().contains("socket=PATH"), bad.getMessage());
        assertEquals(0, devices.device("disk").openers());
    }

    @Test
    void aStoppingServerFailsWhatItCannotFinishAndEveryLaterRequestWithEshutdown() throws Exception {
        BlockDevice d = provider.open(uri("disk"), false);
        try {
            devices.suspend(org.ddmapper.api.DeviceRef.of("disk"), false);
            CompletableFuture<IoStatus> held = new CompletableFuture<>();
            d.submit(Bio.read(0, ByteBuffer.allocate(4096), held::complete));
            Thread.sleep(100);
            server.close(); // a 300 ms grace period: the held read is answered ESHUTDOWN at its end
            IoStatus first = held.get(20, TimeUnit.SECONDS);
            assertEquals(Errno.ESHUTDOWN, first.errno(), first.toString());
            assertTrue(first.message().contains("READ failed on the server (NBD error 108, ESHUTDOWN)"), first.message());
            assertTrue(first.errno().isPathError(), "a path error: multipath retries it on another path");
            assertFalse(((org.ddmapper.nbd.internal.NbdClientDevice) d).connected());
            long start = System.nanoTime();
            IoStatus later = read(d, 0, ByteBuffer.allocate(512));
            assertTrue((System.nanoTime() - start) / 1_000_000 < 1_000, "failed at once, not sent");
            assertEquals(Errno.ESHUTDOWN, later.errno(), later.toString());
            assertTrue(later.message().contains("the server is shutting down: READ answered ESHUTDOWN"), later.message());
            devices.resume(org.ddmapper.api.DeviceRef.of("disk"));
        } finally {
            d.close();
        }
    }

    @Test
    void closeFailsWhatIsInFlightWithEnodev() throws Exception {
        BlockDevice d = provider.open(uri("disk"), false);
        devices.suspend(org.ddmapper.api.DeviceRef.of("disk"), false);
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        CompletableFuture<IoStatus> held = new CompletableFuture<>();
        d.submit(Bio.read(0, buffer, held::complete));
        Thread.sleep(100);
        d.close();
        IoStatus s = held.get(5, TimeUnit.SECONDS);
        assertEquals(Errno.ENODEV, s.errno());
        devices.resume(org.ddmapper.api.DeviceRef.of("disk"));
        IoStatus after = read(d, 0, ByteBuffer.allocate(512));
        assertEquals(Errno.ENODEV, after.errno());
    }

    @Test
    void unixSocketReference() throws Exception {
        Path sock = dir.resolve("nbd.sock");
        server.listenUnix(sock);
        try (BlockDevice d = provider.open("nbd+unix:///disk?socket=" + sock, false)) {
            byte[] data = random(8192, 3);
            assertEquals(IoStatus.OK, write(d, 16, ByteBuffer.wrap(data), 0));
            assertArrayEquals(data, devices.device("disk").bytes(16 * 512, 8192));
        }
    }

    @Test
    void adoptsAPassedSocketAndNegotiates() throws Exception {
        Path sock = dir.resolve("nbd.sock");
        server.listenUnix(sock);
        int fd = TestSockets.connectUnix(sock);
        TestSockets.Passed passed = new TestSockets.Passed(fd);
        try (BlockDevice d = provider.adoptSocket("nbd+unix:///disk?socket=" + sock, passed, false)) {
            assertEquals(-1, passed.fd(), "the provider took the descriptor over");
            assertEquals(DISK_BYTES / 512, d.sizeSectors());
            byte[] data = random(1 << 20, 4);
            assertEquals(IoStatus.OK, write(d, 0, ByteBuffer.wrap(data), 0));
            ByteBuffer back = ByteBuffer.allocateDirect(data.length);
            assertEquals(IoStatus.OK, read(d, 0, back));
            byte[] got = new byte[data.length];
            back.get(got);
            assertArrayEquals(data, got);
            List<CompletableFuture<IoStatus>> all = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                CompletableFuture<IoStatus> f = new CompletableFuture<>();
                d.submit(Bio.read(i * 8L, ByteBuffer.allocateDirect(4096), f::complete));
                all.add(f);
            }
            for (CompletableFuture<IoStatus> f : all) assertEquals(IoStatus.OK, f.get(20, TimeUnit.SECONDS));
        }
        long end = System.currentTimeMillis() + 5000;
        while (TestSockets.isOpen(fd) && System.currentTimeMillis() < end) Thread.sleep(10);
        assertFalse(TestSockets.isOpen(fd), "closing the device closes the adopted descriptor");
    }

    @Test
    void adoptsAnAlreadyNegotiatedSocket() throws Exception {
        Path sock = dir.resolve("nbd.sock");
        server.listenUnix(sock);
        int[] announced = new int[1];
        int fd = negotiatedSocket(sock, announced);
        String ref = "nbd+unix:///disk?socket=" + sock;
        DmException noSize = assertThrows(DmException.class, () -> provider.adoptSocket(ref, new TestSockets.Passed(99999), true));
        assertTrue(noSize.getMessage().contains("size=BYTES"), noSize.getMessage());
        // the flags the server announced must come along: the client may send only what it allows
        TestSockets.Passed noFlagsFd = new TestSockets.Passed(negotiatedSocket(sock, new int[1]));
        DmException noFlags = assertThrows(DmException.class,
                () -> provider.adoptSocket(ref + "&size=" + DISK_BYTES, noFlagsFd, true));
        assertEquals(Errno.EINVAL, noFlags.errno());
        assertTrue(noFlags.getMessage().contains("flags=0xNNNN"), noFlags.getMessage());
        String flags = "&flags=0x" + Integer.toHexString(announced[0]);
        try (BlockDevice d = provider.adoptSocket(ref + "&size=" + DISK_BYTES + flags, new TestSockets.Passed(fd), true)) {
            assertEquals(announced[0], ((org.ddmapper.nbd.internal.NbdClientDevice) d).transmissionFlags());
            byte[] data = random(4096, 5);
            assertEquals(IoStatus.OK, write(d, 8, ByteBuffer.wrap(data), Bio.FUA));
            assertArrayEquals(data, devices.device("disk").bytes(4096, 4096));
        }
        // Once a handshake with the reference told size and flags, a negotiated socket needs neither (a path reconnect).
        provider.open(ref, false).close();
        int fd2 = negotiatedSocket(sock, new int[1]);
        try (BlockDevice d = provider.adoptSocket(ref, new TestSockets.Passed(fd2), true)) {
            assertEquals(DISK_BYTES / 512, d.sizeSectors());
            assertEquals(announced[0], ((org.ddmapper.nbd.internal.NbdClientDevice) d).transmissionFlags());
            assertEquals(IoStatus.OK, read(d, 8, ByteBuffer.allocate(4096)));
        }
    }

    /** A socket on which the caller did its own handshake (NBD_OPT_EXPORT_NAME), now in transmission. */
    private static int negotiatedSocket(Path sock, int[] flags) {
        int fd = TestSockets.connectUnix(sock);
        TestSockets.readAll(fd, 18);
        ByteBuffer b = ByteBuffer.allocate(4 + 16 + 4);
        b.putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES).putLong(Nbd.OPTION_MAGIC).putInt(Nbd.OPT_EXPORT_NAME)
                .putInt(4).put("disk".getBytes(StandardCharsets.UTF_8));
        TestSockets.writeAll(fd, b.array());
        ByteBuffer reply = ByteBuffer.wrap(TestSockets.readAll(fd, 10));
        assertEquals(DISK_BYTES, reply.getLong());
        flags[0] = reply.getShort() & 0xFFFF;
        return fd;
    }

    @Test
    void refusesADescriptorThatIsNotASocket() throws Exception {
        Path file = Files.createTempFile(dir, "notasocket", ".bin");
        int[] pipe = new int[2];
        TestSockets.pipe(pipe);
        TestSockets.Passed passed = new TestSockets.Passed(pipe[0]);
        DmException e = assertThrows(DmException.class, () -> provider.adoptSocket("nbd://127.0.0.1/disk", passed, false));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("not a stream socket") || e.getMessage().contains("not a socket"), e.getMessage());
        assertFalse(TestSockets.isOpen(pipe[0]), "a refused descriptor is closed, not leaked");
        TestSockets.close(pipe[1]);
        Files.deleteIfExists(file);
    }

    @Test
    void worksAgainstNbdkit() throws Exception {
        Path sock = dir.resolve("nbdkit.sock");
        try (Peers.Proc nbdkit = Peers.nbdkitUnix(sock, "memory", "64M");
             BlockDevice d = provider.open("nbd+unix:///?socket=" + sock, false)) {
            assertEquals((64 << 20) / 512, d.sizeSectors());
            byte[] data = random(3 << 20, 6);
            assertEquals(IoStatus.OK, write(d, 100, ByteBuffer.wrap(data), Bio.FUA));
            ByteBuffer back = ByteBuffer.allocate(data.length);
            assertEquals(IoStatus.OK, read(d, 100, back));
            assertArrayEquals(data, back.array());
            assertEquals(IoStatus.OK, io(d, BioOp.WRITE_ZEROES, 100, null, 16, 0));
            ByteBuffer z = ByteBuffer.allocate(8192);
            assertEquals(IoStatus.OK, read(d, 100, z));
            assertArrayEquals(new byte[8192], z.array());
            assertEquals(IoStatus.OK, io(d, BioOp.FLUSH, 0, null, 0, 0));
        }
    }

    @Test
    void nbdkitKilledUnderIoFailsThePath() throws Exception {
        int port = Peers.freePort();
        Peers.Proc nbdkit = Peers.nbdkitTcp(port, "memory", "16M");
        try (BlockDevice d = provider.open("nbd://127.0.0.1:" + port + "/", false)) {
            assertEquals(IoStatus.OK, read(d, 0, ByteBuffer.allocate(4096)));
            nbdkit.process.destroyForcibly();
            nbdkit.process.waitFor(5, TimeUnit.SECONDS);
            IoStatus s = read(d, 0, ByteBuffer.allocate(4096));
            assertTrue(s.isError() && s.errno().isPathError(), s.toString());
            assertTrue(s.errno() == Errno.ENOTCONN, s.toString());
        } finally {
            nbdkit.close();
        }
    }
}
