package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.MemoryDeviceManager;

/** The commands, with simple and structured replies, against the in-memory device. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TransmissionTest extends ServerTestBase {

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void writeThenReadWithSimpleReplies() throws Exception {
        byte[] data = random(65536, 1);
        try (WireClient c = connected("disk", false)) {
            c.write(1, 1 << 20, data);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply());
            c.sendRequest(0, Nbd.CMD_READ, 2, 1 << 20, data.length);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
            assertArrayEquals(data, c.readBytes(data.length));
        }
        assertArrayEquals(data, devices.device("disk").bytes(1 << 20, data.length), "bytes on the device");
    }

    @Test
    void readWithStructuredRepliesIsOneDataChunk() throws Exception {
        byte[] data = random(8192, 2);
        try (WireClient c = connected("disk", true)) {
            c.write(1, 4096, data);
            assertEquals(0, c.readSimpleReply().error());
            c.sendRequest(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 2, 4096, data.length);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, chunk.type());
            assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags());
            assertEquals(2, chunk.handle());
            ByteBuffer b = ByteBuffer.wrap(chunk.payload());
            assertEquals(4096, b.getLong());
            byte[] got = new byte[data.length];
            b.get(got);
            assertArrayEquals(data, got);
        }
    }

    @Test
    void manyRequestsInFlightAreAllAnsweredByHandle() throws Exception {
        int n = 200;
        Map<Long, byte[]> expected = new HashMap<>();
        try (WireClient c = connected("disk", false)) {
            for (long h = 0; h < n; h++) {
                byte[] d = random(4096, h);
                expected.put(h, d);
                c.write(h, h * 4096, d);
            }
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                WireClient.SimpleReply r = c.readSimpleReply();
                assertEquals(0, r.error());
                assertTrue(seen.add(r.handle()), "one reply per request");
            }
            for (long h = 0; h < n; h++) c.sendRequest(0, Nbd.CMD_READ, 1000 + h, h * 4096, 4096);
            for (int i = 0; i < n; i++) {
                WireClient.SimpleReply r = c.readSimpleReply();
                assertEquals(0, r.error());
                assertArrayEquals(expected.get(r.handle() - 1000), c.readBytes(4096), "handle " + r.handle());
            }
        }
    }

    @Test
    void flushAndFuaReachTheDevice() throws Exception {
        try (WireClient c = connected("disk", false)) {
            long before = devices.flushes();
            c.sendRequest(0, Nbd.CMD_FLUSH, 1, 0, 0);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply());
            assertEquals(before + 1, devices.flushes());
            byte[] data = random(512, 3);
            c.out.writeInt(Nbd.REQUEST_MAGIC);
            c.out.writeShort(Nbd.CMD_FLAG_FUA);
            c.out.writeShort(Nbd.CMD_WRITE);
            c.out.writeLong(2);
            c.out.writeLong(0);
            c.out.writeInt(512);
            c.out.write(data);
            c.out.flush();
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
            assertArrayEquals(data, devices.device("disk").bytes(0, 512));
        }
    }

    @Test
    void writeZeroesAndTrim() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.write(1, 0, random(16384, 4));
            assertEquals(0, c.readSimpleReply().error());
            c.sendRequest(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 2, 4096, 8192);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
            assertArrayEquals(new byte[8192], devices.device("disk").bytes(4096, 8192));
            c.sendRequest(0, Nbd.CMD_TRIM, 4, 0, 1 << 20);
            assertEquals(new WireClient.SimpleReply(0, 4), c.readSimpleReply());
        }
    }

    @Test
    void fastZeroIsNotOfferedAndRefused() throws Exception {
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_WRITE_ZEROES, 1, 0, 4096);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_ERROR, chunk.type());
            assertEquals(Nbd.EINVAL, chunk.error());
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 2, 0, 4096);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
        }
    }

    @Test
    void cacheAnswersStatusOnly() throws Exception {
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_CACHE, 1, 0, 1 << 20);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply());
            c.sendRequest(0, Nbd.CMD_FLUSH, 2, 0, 0);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply(), "no payload came before");
        }
    }

    @Test
    void deviceErrorsReachTheClientWithAMessage() throws Exception {
        try (WireClient c = connected("ro", true)) {
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 1, 0, 4096);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.EPERM, chunk.error());
            assertTrue(chunk.message().contains("read-only"), chunk.message());
        }
    }

    @Test
    void requestToASuspendedDeviceWaitsForResume() throws Exception {
        try (WireClient c = connected("disk", false)) {
            devices.suspend(DeviceRef.of("disk"), false);
            c.write(1, 0, random(4096, 5));
            c.socket.setSoTimeout(300);
            try {
                c.readSimpleReply();
                throw new AssertionError("a request to a suspended device must wait");
            } catch (SocketTimeoutException expected) {
                // still waiting, as it should
            }
            devices.resume(DeviceRef.of("disk"));
            c.socket.setSoTimeout(5000);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply());
        }
    }

    @Test
    void removedDeviceGivesShutdownErrorsThenTheConnectionCloses() throws Exception {
        stopServer();
        devices = new MemoryDeviceManager();
        devices.add("disk", DISK_BYTES, false);
        devices.add("gone", 1 << 20, false);
        server = new org.ddmapper.nbd.internal.NbdServer(devices,
                org.ddmapper.nbd.internal.ServerLimits.DEFAULTS.withGoneLingerMillis(500),
                new org.ddmapper.nbd.internal.BufferPool(1 << 20));
        address = (java.net.InetSocketAddress) server.listenTcp("127.0.0.1", 0).localAddress();
        try (WireClient c = connected("gone", true)) {
            devices.suspend(DeviceRef.of("gone"), false);
            c.sendRequest(0, Nbd.CMD_READ, 1, 0, 4096);
            Thread.sleep(100);
            devices.remove(DeviceRef.of("gone"), true);
            WireClient.Chunk held = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_ERROR, held.type(), "the held read fails cleanly");
            assertEquals(Nbd.ESHUTDOWN, held.error());
            c.sendRequest(0, Nbd.CMD_READ, 2, 0, 4096);
            WireClient.Chunk next = c.readChunk();
            assertEquals(Nbd.ESHUTDOWN, next.error());
            assertTrue(next.message().contains("was removed"), next.message());
            assertTrue(c.closedByServer(5000), "an idle connection to a removed device is closed");
        }
        assertGoodClientServed();
    }

    @Test
    void disconnectClosesTheDeviceHandle() throws Exception {
        WireClient c = connected("disk", false);
        assertEquals(1, devices.device("disk").openers());
        c.sendRequest(0, Nbd.CMD_DISC, 1, 0, 0);
        assertTrue(c.closedByServer(5000));
        c.close();
        long end = System.currentTimeMillis() + 5000;
        while (devices.device("disk").openers() != 0 && System.currentTimeMillis() < end) Thread.sleep(10);
        assertEquals(0, devices.device("disk").openers());
        assertFalse(server.connectionCount() > 0 && System.currentTimeMillis() > end);
    }

    @Test
    void largeReadsAndWritesUpToTheMaximumBlockSize() throws Exception {
        byte[] data = random(8 << 20, 6);
        try (WireClient c = connected("disk", false)) {
            c.write(1, 0, data);
            assertEquals(0, c.readSimpleReply().error());
            c.sendRequest(0, Nbd.CMD_READ, 2, 0, data.length);
            assertEquals(0, c.readSimpleReply().error());
            assertArrayEquals(data, c.readBytes(data.length));
        }
    }
}
