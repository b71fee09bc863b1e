package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.StoredDevice;

/**
 * Requests sent back to back in one socket write, and replies that overtake each other: the
 * stream stays framed whatever is refused, and a slow request does not hold up a later one.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PipeliningTest extends ServerTestBase {

    /** Requests built into one byte array, sent with one write. */
    private static final class Batch {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final DataOutputStream out = new DataOutputStream(bytes);

        Batch request(int flags, int type, long handle, long offset, int length) throws IOException {
            out.writeInt(Nbd.REQUEST_MAGIC);
            out.writeShort(flags);
            out.writeShort(type);
            out.writeLong(handle);
            out.writeLong(offset);
            out.writeInt(length);
            return this;
        }

        Batch write(long handle, long offset, byte[] data) throws IOException {
            request(0, Nbd.CMD_WRITE, handle, offset, data.length);
            out.write(data);
            return this;
        }

        void sendTo(WireClient c) throws IOException {
            c.out.write(bytes.toByteArray());
            c.out.flush();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void fill(String device, long offset, byte[] data) {
        devices.device(device).store(offset, data);
    }

    /** Reads {@code count} simple replies; READ replies (handles in {@code reads}) with their data. */
    private Map<Long, WireClient.SimpleReply> readReplies(WireClient c, int count, Map<Long, Integer> reads,
                                                         Map<Long, byte[]> data, List<Long> order) throws IOException {
        Map<Long, WireClient.SimpleReply> replies = new HashMap<>();
        for (int i = 0; i < count; i++) {
            WireClient.SimpleReply r = c.readSimpleReply();
            order.add(r.handle());
            assertEquals(null, replies.put(r.handle(), r), "one reply per handle, got " + order);
            Integer length = reads.get(r.handle());
            if (length != null && r.error() == 0) data.put(r.handle(), c.readBytes(length));
        }
        return replies;
    }

    @Test
    void aRefusedWriteWithItsPayloadBufferedKeepsThePipelinedRequestsAfterIt() throws Exception {
        byte[] content = random(4096, 1);
        fill("ro", 8192, content);
        try (WireClient c = connected("ro", false)) {
            new Batch().write(1, 0, random(8192, 2))
                    .request(0, Nbd.CMD_READ, 2, 8192, 4096)
                    .request(0, Nbd.CMD_FLUSH, 3, 0, 0)
                    .sendTo(c);
            Map<Long, byte[]> data = new HashMap<>();
            List<Long> order = new ArrayList<>();
            Map<Long, WireClient.SimpleReply> r = readReplies(c, 3, Map.of(2L, 4096), data, order);
            assertEquals(1L, order.get(0), "the refusal is answered before the requests after it run: " + order);
            assertEquals(Nbd.EPERM, r.get(1L).error(), "the WRITE to a read-only export");
            assertEquals(0, r.get(2L).error(), "the READ after it");
            assertArrayEquals(content, data.get(2L), "the READ's data");
            assertEquals(0, r.get(3L).error(), "the FLUSH after it");
        }
        assertGoodClientServed();
    }

    @Test
    void refusedWritesOfEverySizeKeepTheStreamFramed() throws Exception {
        byte[] content = random(65536, 3);
        fill("disk", 1 << 20, content);
        // Payloads below, at and above the 64 KiB input buffer, refused past the end and for misalignment.
        int[] sizes = {512, 4096, 60 * 1024, 64 * 1024, 100 * 1024, 1 << 20};
        try (WireClient c = connected("disk", true)) {
            long handle = 0;
            for (int size : sizes) {
                Batch b = new Batch().write(++handle, DISK_BYTES, random(size, size))
                        .request(0, Nbd.CMD_READ, ++handle, 1 << 20, content.length)
                        .write(++handle, 100, random(size, size + 1))
                        .request(0, Nbd.CMD_FLUSH, ++handle, 0, 0);
                b.sendTo(c);
                Map<Long, WireClient.Chunk> replies = new HashMap<>();
                for (int i = 0; i < 4; i++) {
                    WireClient.Chunk chunk = c.readReply();
                    replies.put(chunk.handle(), chunk);
                }
                assertEquals(Nbd.ENOSPC, replies.get(handle - 3).error(), size + "-byte WRITE past the end");
                WireClient.Chunk read = replies.get(handle - 2);
                assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, read.type(), size + ": the READ after it");
                assertArrayEquals(content, java.util.Arrays.copyOfRange(read.payload(), 8, read.payload().length));
                assertEquals(Nbd.EINVAL, replies.get(handle - 1).error(), size + "-byte misaligned WRITE");
                assertEquals(WireClient.SIMPLE_OK, replies.get(handle).type(), size + ": the FLUSH after it");
            }
        }
        assertGoodClientServed();
    }

    @Test
    void pipelinedWritesToADeviceRemovedMidStreamGetShutdownAndStayFramed() throws Exception {
        devices.add("gone", 1 << 20, false);
        try (WireClient c = connected("gone", true)) {
            // Eight writes at queue depth 8 reach the device, held there by a suspend ...
            devices.suspend(DeviceRef.of("gone"), false);
            Batch first = new Batch();
            for (int i = 0; i < 8; i++) first.write(i, i * 4096L, random(4096, i));
            first.sendTo(c);
            await("eight writes held by the suspended device", () -> devices.device("gone").info().heldRequests() == 8);
            // ... the device goes away (the held writes fail) ...
            devices.remove(DeviceRef.of("gone"), true);
            // ... and sixteen more writes, a read and a flush arrive in one burst.
            Batch second = new Batch();
            for (int i = 8; i < 24; i++) second.write(i, i * 4096L, random(4096, i));
            second.request(0, Nbd.CMD_READ, 24, 0, 4096).request(0, Nbd.CMD_FLUSH, 25, 0, 0);
            second.sendTo(c);
            boolean[] seen = new boolean[26];
            for (int i = 0; i < 26; i++) {
                WireClient.Chunk chunk = c.readChunk();
                assertEquals(Nbd.REPLY_TYPE_ERROR, chunk.type(), "handle " + chunk.handle());
                assertEquals(Nbd.ESHUTDOWN, chunk.error(), chunk.message());
                assertTrue(!seen[(int) chunk.handle()], "one reply for handle " + chunk.handle());
                seen[(int) chunk.handle()] = true;
            }
        }
        assertGoodClientServed();
    }

    @Test
    void aConnectionToARemovedDeviceClosesOnceIdleForTheLingerTimeAndNotBefore() throws Exception {
        restartServer(limits().withGoneLingerMillis(2000));
        devices.add("gone", 1 << 20, false);
        try (WireClient c = connected("gone", true)) {
            devices.suspend(DeviceRef.of("gone"), false);
            c.sendRequest(0, Nbd.CMD_READ, 1, 0, 4096);
            await("the READ held by the suspended device", () -> devices.device("gone").info().heldRequests() == 1);
            devices.remove(DeviceRef.of("gone"), true);
            WireClient.Chunk held = c.readChunk();
            long answered = System.nanoTime();
            assertEquals(Nbd.ESHUTDOWN, held.error(), held.message());
            // Nothing more is sent: the last completion alone starts the linger, and wake-ups do not cut it short.
            assertTrue(c.closedByServer(15_000), "closed once idle");
            long millis = (System.nanoTime() - answered) / 1_000_000;
            assertTrue(millis >= 1000, "not at once: the linger is 2 s, took " + millis + " ms");
        }
    }

    @Test
    void aLaterRequestIsAnsweredWhileAnEarlierOneIsHeld() throws Exception {
        byte[] slow = random(4096, 5);
        byte[] fast = random(4096, 6);
        fill("disk", 0, slow);
        fill("disk", 65536, fast);
        StoredDevice disk = devices.device("disk");
        disk.gateAt(0);
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_READ, 1, 0, 4096);
            await("the first READ held at the device", () -> disk.gatedCount() == 1);
            c.sendRequest(0, Nbd.CMD_READ, 2, 65536, 4096);
            byte[] data = random(4096, 7);
            c.write(3, 131072, data);
            List<Long> order = new ArrayList<>();
            Map<Long, byte[]> got = new HashMap<>();
            readReplies(c, 2, Map.of(1L, 4096, 2L, 4096), got, order);
            assertEquals(List.of(2L, 3L), order.stream().sorted().toList(), "the later requests are answered first");
            assertArrayEquals(fast, got.get(2L));
            assertEquals(1, disk.gatedCount(), "the first READ is still held");
            disk.openGate();
            readReplies(c, 1, Map.of(1L, 4096), got, order);
            assertEquals(1L, order.get(2), "the held READ is answered last: " + order);
            assertArrayEquals(slow, got.get(1L), "with its own data");
            assertArrayEquals(data, disk.bytes(131072, 4096));
        }
    }

    @Test
    void structuredRepliesOvertakeTooAndCarryTheirOffsets() throws Exception {
        byte[] slow = random(8192, 8);
        fill("disk", 1 << 20, slow);
        StoredDevice disk = devices.device("disk");
        disk.gateAt(1 << 20);
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_READ, 10, 1 << 20, slow.length);
            await("the READ held at the device", () -> disk.gatedCount() == 1);
            for (long h = 11; h <= 20; h++) c.sendRequest(0, Nbd.CMD_READ, h, h * 4096, 4096);
            for (int i = 0; i < 10; i++) {
                WireClient.Chunk chunk = c.readChunk();
                assertTrue(chunk.handle() >= 11 && chunk.handle() <= 20, "handle " + chunk.handle() + " before 10");
                assertEquals(chunk.handle() * 4096, ByteBuffer.wrap(chunk.payload()).getLong(0));
            }
            disk.openGate();
            WireClient.Chunk last = c.readChunk();
            assertEquals(10, last.handle());
            assertArrayEquals(slow, java.util.Arrays.copyOfRange(last.payload(), 8, last.payload().length));
        }
    }
}
