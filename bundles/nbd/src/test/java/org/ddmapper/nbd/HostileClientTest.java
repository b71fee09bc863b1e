package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile clients (the list and malformed-input.md §2.5, TLS cases aside): each test
 * asserts the specification's answer and then that a {@link Bystander} connected before the
 * hostile client acted carries on undisturbed and that a new, well-behaved client is served.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileClientTest extends ServerTestBase {
    static final long IN_FLIGHT_CAP = 4 << 20;
    static final int BIG_BYTES = 40 << 20;

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withHandshakeMillis(1500).withInFlight(IN_FLIGHT_CAP, 256).withConnections(1024, 64);
    }

    @BeforeEach
    void bigDeviceAndBystander() throws IOException {
        devices.add("big", BIG_BYTES, false);
        connectBystander();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void sendRawOptionHeader(WireClient c, long magic, int option, int length) throws IOException {
        c.out.writeLong(magic);
        c.out.writeInt(option);
        c.out.writeInt(length);
        c.out.flush();
    }

    private WireClient.SimpleReply expectSimpleError(WireClient c, long handle, int error) throws IOException {
        WireClient.SimpleReply r = c.readSimpleReply();
        assertEquals(handle, r.handle());
        assertEquals(error, r.error());
        return r;
    }

    private WireClient.Chunk expectChunkError(WireClient c, long handle, int error, String messagePart) throws IOException {
        WireClient.Chunk chunk = c.readChunk();
        assertEquals(Nbd.REPLY_TYPE_ERROR, chunk.type());
        assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags());
        assertEquals(handle, chunk.handle());
        assertEquals(error, chunk.error(), chunk.message());
        assertTrue(chunk.message().contains(messagePart), chunk.message());
        return chunk;
    }

    /** The stream is still in sync: a flush gets its own reply next. */
    private void assertInSync(WireClient c, long handle) throws IOException {
        c.sendRequest(0, Nbd.CMD_FLUSH, handle, 0, 0);
        assertEquals(new WireClient.SimpleReply(0, handle), c.readSimpleReply());
    }

    // ---- handshake ----

    @Test
    void unknownClientFlagsDisconnect() throws Exception {
        try (WireClient c = client()) {
            c.readGreeting();
            c.out.writeInt(0xFFFFFFFC);
            c.out.flush();
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
    }

    @Test
    void wrongOptionMagicDisconnects() throws Exception {
        try (WireClient c = client().start()) {
            sendRawOptionHeader(c, 0x1122334455667788L, Nbd.OPT_LIST, 0);
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
    }

    @Test
    void unknownOptionWithPayloadIsUnsupportedAndTheNextOptionParses() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(0x7654321, new byte[] {9, 9, 9, 9});
            assertEquals(Nbd.REP_ERR_UNSUP, c.readOptionReply().type());
            assertEquals(DISK_BYTES, c.go("disk").size());
        }
        assertGoodClientServed();
    }

    @Test
    void optionLengthOfFourGigabytesDisconnectsWithoutReadingIt() throws Exception {
        try (WireClient c = client().start()) {
            sendRawOptionHeader(c, Nbd.OPTION_MAGIC, Nbd.OPT_GO, 0xFFFFFFFF);
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
    }

    @Test
    void oversizedOptionBelowTheSkipLimitIsTooBigAndSkipped() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, new byte[200_000]);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_TOO_BIG, r.type());
            assertTrue(r.text().contains("200000 bytes"), r.text());
            assertEquals(DISK_BYTES, c.go("disk").size());
        }
        assertGoodClientServed();
    }

    @Test
    void optionCutShortByEndOfStreamClosesCleanly() throws Exception {
        try (WireClient c = client().start()) {
            sendRawOptionHeader(c, Nbd.OPTION_MAGIC, Nbd.OPT_GO, 100);
            c.out.write(new byte[10]);
            c.out.flush();
            c.socket.shutdownOutput();
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
        waitForConnections(0);
        assertEquals(0, devices.device("disk").openers(), "the device is closed with the connections");
    }

    @Test
    void exportNameLongerThan4096BytesDisconnects() throws Exception {
        try (WireClient c = client().start()) {
            byte[] name = new byte[4097];
            Arrays.fill(name, (byte) 'a');
            c.sendOption(Nbd.OPT_EXPORT_NAME, name);
            assertTrue(c.closedByServer(5000));
        }
        for (int len : new int[] {257, 1000, 4096}) {
            try (WireClient c = client().start()) {
                byte[] name = new byte[len];
                Arrays.fill(name, (byte) 'b');
                c.sendOption(Nbd.OPT_EXPORT_NAME, name);
                assertTrue(c.closedByServer(5000), "unknown export of " + len + " bytes: EXPORT_NAME cannot answer an error");
            }
        }
        assertGoodClientServed();
    }

    @Test
    void goWithNameLengthOfFourGigabytesIsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            ByteBuffer b = ByteBuffer.allocate(10).putInt(0xFFFFFFFF).putShort((short) 0).putInt(0);
            c.sendOption(Nbd.OPT_GO, b.array());
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("does not fit"), r.text());
            assertEquals(DISK_BYTES, c.go("disk").size());
        }
        assertGoodClientServed();
    }

    @Test
    void infoWithNameLengthBeyondTheOptionIsInvalidAndTheRestConsumed() throws Exception {
        try (WireClient c = client().start()) {
            ByteBuffer b = ByteBuffer.allocate(20).putInt(30).put(utf8("disk")).putShort((short) 0);
            c.sendOption(Nbd.OPT_INFO, b.array());
            assertEquals(Nbd.REP_ERR_INVALID, c.readOptionReply().type());
            assertEquals(DISK_BYTES, c.go("disk").size(), "the remainder was consumed: the next option parses");
        }
        assertGoodClientServed();
    }

    @Test
    void goWhoseLengthDoesNotMatchItsInformationRequestsIsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            byte[] good = WireClient.infoRequest("disk", Nbd.INFO_NAME);
            byte[] extra = Arrays.copyOf(good, good.length + 3);
            c.sendOption(Nbd.OPT_GO, extra);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("does not match"), r.text());
            ByteBuffer lying = ByteBuffer.wrap(good.clone());
            lying.putShort(4 + 4, (short) 5);
            c.sendOption(Nbd.OPT_GO, lying.array());
            assertEquals(Nbd.REP_ERR_INVALID, c.readOptionReply().type());
            assertEquals(0, devices.device("disk").openers());
            c.go("disk");
        }
        assertGoodClientServed();
    }

    @Test
    void exportNameWithNulOrInvalidUtf8IsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            byte[][] names = {{'d', 0, 'k'}, {(byte) 0xC3, (byte) 0x28}, {(byte) 0xFF, 'a'}};
            for (byte[] name : names) {
                ByteBuffer b = ByteBuffer.allocate(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0);
                c.sendOption(Nbd.OPT_GO, b.array());
                WireClient.OptionReply r = c.readOptionReply();
                assertEquals(Nbd.REP_ERR_INVALID, r.type(), r.text());
                assertTrue(r.text().contains("NUL") || r.text().contains("UTF-8"), r.text());
            }
            c.go("disk");
        }
        assertGoodClientServed();
    }

    @Test
    void unknownExportWith4096ByteNameGetsAShortMessage() throws Exception {
        try (WireClient c = client().start()) {
            char[] name = new char[4096];
            Arrays.fill(name, 'x');
            c.sendOption(Nbd.OPT_GO, WireClient.infoRequest(new String(name)));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_UNKNOWN, r.type());
            assertTrue(r.data().length <= 4096, "message of " + r.data().length + " bytes");
            assertTrue(r.text().startsWith("no export named 'xxx"), r.text());
        }
        assertGoodClientServed();
    }

    @Test
    void moreOptionsThanTheCapDisconnect() throws Exception {
        try (WireClient c = client().start()) {
            int cap = limits().maxOptions();
            for (int i = 0; i < cap; i++) {
                c.sendOption(Nbd.OPT_LIST, new byte[0]);
                WireClient.OptionReply r;
                do {
                    r = c.readOptionReply();
                } while (r.type() != Nbd.REP_ACK);
            }
            c.sendOption(Nbd.OPT_LIST, new byte[0]);
            assertTrue(c.closedByServer(5000), "option " + (cap + 1) + " is one too many");
        }
        assertGoodClientServed();
    }

    @Test
    void statefulOptionsTwiceStayConsistent() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            c.structuredReplies();
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest("disk", "base:allocation"));
            assertEquals(Nbd.REP_META_CONTEXT, c.readOptionReply().type());
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            // The second SET replaces the first: nothing selected now.
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest("disk"));
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            c.go("disk");
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 1, 0, 4096);
            expectChunkError(c, 1, Nbd.EINVAL, "base:allocation");
        }
        assertGoodClientServed();
    }

    @Test
    void startTlsWithPayloadIsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[] {1, 2});
            assertEquals(Nbd.REP_ERR_INVALID, c.readOptionReply().type());
            c.go("disk");
        }
        assertGoodClientServed();
    }

    @Test
    void metaContextWithTooManyOrTooLongQueriesIsRefused() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            ByteBuffer many = ByteBuffer.allocate(4 + 4 + 4 + 4 * 5000);
            many.putInt(4).put(utf8("disk")).putInt(100_000);
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, many.array());
            assertEquals(Nbd.REP_ERR_TOO_BIG, c.readOptionReply().type());
            char[] q = new char[5000];
            Arrays.fill(q, 'q');
            c.sendOption(Nbd.OPT_LIST_META_CONTEXT, WireClient.metaRequest("disk", "base:" + new String(q)));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("4096"), r.text());
            c.go("disk");
        }
        assertGoodClientServed();
    }

    @Test
    void randomBytesAtEachHandshakeStateCloseCleanly() throws Exception {
        Random random = new Random(42);
        for (int round = 0; round < 30; round++) {
            try (WireClient c = client()) {
                c.readGreeting();
                int state = round % 3;
                if (state > 0) c.out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE);
                if (state > 1) {
                    c.out.writeLong(Nbd.OPTION_MAGIC);
                    c.out.writeInt(Nbd.OPT_GO);
                    c.out.writeInt(24);
                }
                byte[] junk = new byte[64 + random.nextInt(512)];
                random.nextBytes(junk);
                if (state == 0) junk[0] = (byte) 0x80; // an unknown client flag bit for sure
                c.out.write(junk);
                c.out.flush();
                assertTrue(c.closedByServer(5000), "round " + round + " (state " + state + ")");
            }
        }
        assertGoodClientServed();
    }

    @Test
    void resetDuringNegotiationAndDuringALargeReadReply() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_LIST, new byte[0]);
            c.socket.setSoLinger(true, 0);
        }
        WireClient c = client().start();
        c.go("big");
        c.sendRequest(0, Nbd.CMD_READ, 1, 0, 32 << 20);
        c.readSimpleReply();
        c.readBytes(100_000);
        c.socket.setSoLinger(true, 0);
        c.close();
        assertGoodClientServed();
        waitForConnections(0);
    }

    @Test
    void slowHandshakeIsDroppedAtTheDeadline() throws Exception {
        long start = System.nanoTime();
        try (WireClient silent = client(); WireClient stalled = client().start()) {
            sendRawOptionHeader(stalled, Nbd.OPTION_MAGIC, Nbd.OPT_GO, 50);
            stalled.out.write(new byte[5]);
            stalled.out.flush();
            assertTrue(silent.closedByServer(5000), "a client that sends nothing is dropped");
            assertTrue(stalled.closedByServer(5000), "a client stalled mid-option is dropped");
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 1400 && millis < 4500, "dropped after the 1.5 s deadline, took " + millis + " ms");
        assertGoodClientServed();
    }

    @Test
    void aThousandIdleSocketsDoNotLockOutARealClient() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                Socket s = new Socket();
                s.connect(address, 5000);
                idle.add(s);
            }
            long start = System.nanoTime();
            assertGoodClientServed();
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 1500, "served before any idle socket timed out, took " + millis + " ms");
            long end = System.currentTimeMillis() + 3000;
            while (connectionsBesidesBystander() > limits().maxHandshakes() && System.currentTimeMillis() < end) Thread.sleep(10);
            assertTrue(connectionsBesidesBystander() <= limits().maxHandshakes(),
                    "negotiating connections are capped: " + connectionsBesidesBystander());
        } finally {
            for (Socket s : idle) s.close();
        }
    }

    // ---- transmission ----

    @Test
    void badRequestMagicDisconnectsThatConnectionOnly() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.out.writeInt(0x12345678);
            c.out.write(new byte[24]);
            c.out.flush();
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
    }

    @Test
    void unknownCommandIsInvalidAndTheConnectionContinues() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, 42, 1, 0, 0);
            expectSimpleError(c, 1, Nbd.EINVAL);
            c.sendRequest(0, 0xFFFF, 2, 0, 4096);
            expectSimpleError(c, 2, Nbd.EINVAL);
            assertInSync(c, 3);
        }
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, 42, 1, 0, 0);
            expectChunkError(c, 1, Nbd.EINVAL, "unknown command 42");
        }
        assertGoodClientServed();
    }

    @Test
    void unknownFlagBitsAreInvalid() throws Exception {
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0x8000, Nbd.CMD_READ, 1, 0, 4096);
            expectChunkError(c, 1, Nbd.EINVAL, "not valid on READ");
            assertInSync(c, 2);
        }
        assertGoodClientServed();
    }

    @Test
    void flagsOnTheWrongCommandAreInvalid() throws Exception {
        try (WireClient c = connected("ro", true)) {
            c.sendRequest(Nbd.CMD_FLAG_FUA, Nbd.CMD_READ, 1, 0, 4096);
            expectChunkError(c, 1, Nbd.EINVAL, "not valid");
        }
        try (WireClient c = connected("disk", true)) {
            c.out.writeInt(Nbd.REQUEST_MAGIC);
            c.out.writeShort(Nbd.CMD_FLAG_NO_HOLE);
            c.out.writeShort(Nbd.CMD_WRITE);
            c.out.writeLong(2);
            c.out.writeLong(0);
            c.out.writeInt(4096);
            c.out.write(new byte[4096]);
            c.out.flush();
            expectChunkError(c, 2, Nbd.EINVAL, "not valid on WRITE");
            c.sendRequest(Nbd.CMD_FLAG_DF, Nbd.CMD_WRITE_ZEROES, 3, 0, 4096);
            expectChunkError(c, 3, Nbd.EINVAL, "not valid on WRITE_ZEROES");
            c.sendRequest(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_READ, 4, 0, 4096);
            expectChunkError(c, 4, Nbd.EINVAL, "not valid on READ");
            c.sendRequest(Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_TRIM, 5, 0, 4096);
            expectChunkError(c, 5, Nbd.EINVAL, "not valid on TRIM");
            assertInSync(c, 6);
        }
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 7, 0, 4096);
            expectSimpleError(c, 7, Nbd.EINVAL);
            assertInSync(c, 8);
        }
        assertGoodClientServed();
    }

    @Test
    void pastTheEnd() throws Exception {
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_READ, 1, DISK_BYTES - 4096, 8192);
            expectChunkError(c, 1, Nbd.EINVAL, "beyond the end");
            c.write(2, DISK_BYTES, new byte[65536]);
            expectChunkError(c, 2, Nbd.ENOSPC, "beyond the end");
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 3, DISK_BYTES - 512, 1024);
            expectChunkError(c, 3, Nbd.ENOSPC, "beyond the end");
            c.sendRequest(0, Nbd.CMD_TRIM, 4, DISK_BYTES, 512);
            expectChunkError(c, 4, Nbd.EINVAL, "beyond the end");
            assertInSync(c, 5);
        }
        assertGoodClientServed();
    }

    @Test
    void offsetPlusLengthOverflowingIsInvalid() throws Exception {
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_READ, 1, -512L, 1024);
            expectChunkError(c, 1, Nbd.EINVAL, "overflows");
            c.write(2, -512L, new byte[1024]);
            expectChunkError(c, 2, Nbd.EINVAL, "overflows");
            assertInSync(c, 3);
        }
        assertGoodClientServed();
    }

    @Test
    void oversizedReadsAndWritesAreRefusedWithoutAllocating() throws Exception {
        long pooledBefore = server.maxInFlightBytesSeen();
        try (WireClient c = connected("big", false)) {
            c.sendRequest(0, Nbd.CMD_READ, 1, 0, 0xFFFFFFFFL);
            expectSimpleError(c, 1, Nbd.EINVAL);
            c.sendRequest(0, Nbd.CMD_READ, 2, 0, (32 << 20) + 512);
            expectSimpleError(c, 2, Nbd.EINVAL);
            byte[] payload = new byte[(33 << 20)];
            c.write(3, 0, payload);
            expectSimpleError(c, 3, Nbd.EINVAL);
            assertInSync(c, 4);
            assertTrue(server.maxInFlightBytesSeen() == pooledBefore, "no buffer was taken for refused requests");
        }
        assertGoodClientServed();
    }

    @Test
    void zeroLengthRequestsGetADefinedReply() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_READ, 1, 4096, 0);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply());
            c.write(2, 4096, new byte[0]);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
            c.sendRequest(0, Nbd.CMD_TRIM, 3, 4096, 0);
            assertEquals(new WireClient.SimpleReply(0, 3), c.readSimpleReply());
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 4, 4096, 0);
            assertEquals(new WireClient.SimpleReply(0, 4), c.readSimpleReply());
            assertInSync(c, 5);
        }
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_READ, 6, 0, 0);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_NONE, chunk.type());
            assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags());
        }
        assertGoodClientServed();
    }

    @Test
    void misalignedRequestsFromAClientThatAskedForBlockSizesAreInvalid() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            assertEquals(512, c.go("disk", Nbd.INFO_BLOCK_SIZE).minBlock(), "asked, and told 512");
            c.sendRequest(0, Nbd.CMD_READ, 1, 100, 4096);
            expectChunkError(c, 1, Nbd.EINVAL, "minimum block size 512");
            c.write(2, 0, new byte[1000]);
            expectChunkError(c, 2, Nbd.EINVAL, "minimum block size 512");
            c.sendRequest(0, Nbd.CMD_TRIM, 3, 512, 100);
            expectChunkError(c, 3, Nbd.EINVAL, "minimum block size");
            assertInSync(c, 4);
        }
        assertGoodClientServed();
    }

    @Test
    void aClientThatDidNotAskForBlockSizesMayUseAnyAlignment() throws Exception {
        byte[] model = new byte[8192];
        new Random(41).nextBytes(model);
        devices.device("disk").store(0, model);
        try (WireClient c = client().start()) {
            c.structuredReplies();
            WireClient.Export e = c.go("disk", Nbd.INFO_NAME);
            assertEquals(List.of(1, 4096, 32 << 20), List.of(e.minBlock(), e.preferredBlock(), e.maxBlock()),
                    "told the default minimum of 1");
            c.sendRequest(0, Nbd.CMD_READ, 1, 100, 4096);
            WireClient.Chunk read = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, read.type());
            assertEquals(100, ByteBuffer.wrap(read.payload()).getLong(0), "the chunk's offset is the request's");
            assertArrayEquals(Arrays.copyOfRange(model, 100, 4196), Arrays.copyOfRange(read.payload(), 8, read.payload().length));
            byte[] data = new byte[1000];
            new Random(42).nextBytes(data);
            c.write(2, 1, data);
            System.arraycopy(data, 0, model, 1, data.length);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
            // Advisory: only the whole sectors inside are trimmed (this device zeroes them), or nothing.
            c.sendRequest(0, Nbd.CMD_TRIM, 3, 1500, 3000);
            Arrays.fill(model, 1536, 4096, (byte) 0);
            assertEquals(new WireClient.SimpleReply(0, 3), c.readSimpleReply());
            c.sendRequest(0, Nbd.CMD_TRIM, 4, 5000, 100);
            assertEquals(new WireClient.SimpleReply(0, 4), c.readSimpleReply());
            c.sendRequest(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 5, 6000, 7);
            Arrays.fill(model, 6000, 6007, (byte) 0);
            assertEquals(new WireClient.SimpleReply(0, 5), c.readSimpleReply());
            // Still byte-exact: the end of the export, and the maximum size.
            c.sendRequest(0, Nbd.CMD_READ, 6, DISK_BYTES - 1, 2);
            expectChunkError(c, 6, Nbd.EINVAL, "beyond the end of the export");
            c.sendRequest(0, Nbd.CMD_READ, 7, 1, (32 << 20) + 1);
            expectChunkError(c, 7, Nbd.EINVAL, "exceeds the maximum block size");
            assertInSync(c, 8);
        }
        assertArrayEquals(model, devices.device("disk").bytes(0, 8192));
        assertGoodClientServed();
    }

    @Test
    void flushWithOffsetOrLengthIsInvalid() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_FLUSH, 1, 4096, 0);
            expectSimpleError(c, 1, Nbd.EINVAL);
            c.sendRequest(0, Nbd.CMD_FLUSH, 2, 0, 512);
            expectSimpleError(c, 2, Nbd.EINVAL);
            assertInSync(c, 3);
        }
        assertGoodClientServed();
    }

    @Test
    void writesToAReadOnlyExportArePermissionErrorsWithThePayloadDrained() throws Exception {
        byte[] before = devices.device("ro").bytes(0, 8192);
        try (WireClient c = connected("ro", true)) {
            byte[] payload = new byte[8192];
            Arrays.fill(payload, (byte) 0x5A);
            c.write(1, 0, payload);
            expectChunkError(c, 1, Nbd.EPERM, "read-only");
            c.sendRequest(0, Nbd.CMD_TRIM, 2, 0, 4096);
            expectChunkError(c, 2, Nbd.EPERM, "read-only");
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 3, 0, 4096);
            expectChunkError(c, 3, Nbd.EPERM, "read-only");
            assertInSync(c, 4);
        }
        assertArrayEquals(before, devices.device("ro").bytes(0, 8192), "nothing changed");
        assertGoodClientServed();
    }

    @Test
    void blockStatusWithoutNegotiationIsInvalid() throws Exception {
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 1, 0, 4096);
            expectSimpleError(c, 1, Nbd.EINVAL);
            assertInSync(c, 2);
        }
        try (WireClient c = connected("disk", true)) {
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 3, 0, 4096);
            expectChunkError(c, 3, Nbd.EINVAL, "base:allocation");
        }
        assertGoodClientServed();
    }

    @Test
    void duplicateHandlesInFlightAreEachAnswered() throws Exception {
        try (WireClient c = connected("disk", false)) {
            for (int i = 0; i < 20; i++) c.sendRequest(0, Nbd.CMD_READ, 77, i * 4096L, 4096);
            for (int i = 0; i < 20; i++) {
                assertEquals(new WireClient.SimpleReply(0, 77), c.readSimpleReply());
                c.readBytes(4096);
            }
        }
        assertGoodClientServed();
    }

    @Test
    void truncatedWritePayloadThenEndOfStreamAppliesNothing() throws Exception {
        int before = Thread.activeCount();
        byte[] was = devices.device("disk").bytes(2 << 20, 1 << 20);
        try (WireClient c = connected("disk", false)) {
            c.out.writeInt(Nbd.REQUEST_MAGIC);
            c.out.writeShort(0);
            c.out.writeShort(Nbd.CMD_WRITE);
            c.out.writeLong(1);
            c.out.writeLong(2 << 20);
            c.out.writeInt(1 << 20);
            byte[] part = new byte[10 * 1024];
            Arrays.fill(part, (byte) 0x77);
            c.out.write(part);
            c.out.flush();
            c.socket.shutdownOutput();
            assertTrue(c.closedByServer(5000), "no reply, the connection ends");
        }
        waitForConnections(0);
        assertArrayEquals(was, devices.device("disk").bytes(2 << 20, 1 << 20), "nothing applied");
        assertEquals(0, devices.device("disk").openers());
        assertTrue(Thread.activeCount() <= before + 1, "no thread leaked: " + before + " -> " + Thread.activeCount());
        assertGoodClientServed();
    }

    @Test
    void writeWithFuaThenDisconnectPipelinedIsDurable() throws Exception {
        byte[] data = new byte[65536];
        new Random(9).nextBytes(data);
        try (WireClient c = connected("disk", false)) {
            c.out.writeInt(Nbd.REQUEST_MAGIC);
            c.out.writeShort(Nbd.CMD_FLAG_FUA);
            c.out.writeShort(Nbd.CMD_WRITE);
            c.out.writeLong(1);
            c.out.writeLong(3 << 20);
            c.out.writeInt(data.length);
            c.out.write(data);
            c.out.writeInt(Nbd.REQUEST_MAGIC);
            c.out.writeShort(0);
            c.out.writeShort(Nbd.CMD_DISC);
            c.out.writeLong(2);
            c.out.writeLong(0);
            c.out.writeInt(0);
            c.out.flush();
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply(), "outstanding requests are handled before closing");
            assertTrue(c.closedByServer(5000));
        }
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_READ, 3, 3 << 20, data.length);
            assertEquals(0, c.readSimpleReply().error());
            assertArrayEquals(data, c.readBytes(data.length));
        }
        assertGoodClientServed();
    }

    @Test
    void requestsAfterDisconnectAreIgnored() throws Exception {
        byte[] was = devices.device("disk").bytes(5 << 20, 4096);
        try (WireClient c = connected("disk", false)) {
            c.sendRequest(0, Nbd.CMD_DISC, 1, 0, 0);
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 1);
            try {
                c.write(2, 5 << 20, data);
                c.sendRequest(0, Nbd.CMD_READ, 3, 0, 4096);
            } catch (IOException alreadyClosed) {
                // the server may already be gone
            }
            assertTrue(c.closedByServer(5000));
        }
        assertArrayEquals(was, devices.device("disk").bytes(5 << 20, 4096), "the write after DISC was not applied");
        assertGoodClientServed();
    }

    @Test
    void thousandsOfPipelinedRequestsWithoutReadingRepliesStayBounded() throws Exception {
        int count = 10_000;
        int length = 16 * 1024;
        WireClient c = connected("big", false);
        AtomicReference<Throwable> sendFailure = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < count; i++) c.sendRequest(0, Nbd.CMD_READ, i, (long) (i % 2000) * length, length);
            } catch (Throwable t) {
                sendFailure.set(t);
            }
        });
        sender.start();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (server.maxInFlightBytesSeen() < IN_FLIGHT_CAP - length && System.currentTimeMillis() < end) Thread.sleep(10);
            Thread.sleep(300);
            assertTrue(server.maxInFlightBytesSeen() <= IN_FLIGHT_CAP,
                    "held " + server.maxInFlightBytesSeen() + " bytes, cap " + IN_FLIGHT_CAP);
            assertGoodClientServed();
            Set<Long> handles = new HashSet<>();
            for (int i = 0; i < count; i++) {
                WireClient.SimpleReply r = c.readSimpleReply();
                assertEquals(0, r.error());
                handles.add(r.handle());
                c.readBytes(length);
            }
            assertEquals(count, handles.size(), "every request answered once");
            sender.join(10_000);
            assertEquals(null, sendFailure.get());
            assertTrue(server.maxInFlightBytesSeen() <= IN_FLIGHT_CAP, "bounded to the end");
        } finally {
            c.close();
            sender.join(10_000);
        }
    }

    @Test
    void trimAndWriteZeroesAboveTheMaximumBlockSizeNeverDisconnect() throws Exception {
        try (WireClient c = connected("big", true)) {
            c.sendRequest(0, Nbd.CMD_TRIM, 1, 0, 36 << 20);
            assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply(), "TRIM is not capped by the block size");
            c.sendRequest(0, Nbd.CMD_WRITE_ZEROES, 2, 0, 36 << 20);
            expectChunkError(c, 2, Nbd.EINVAL, "maximum block size");
            c.sendRequest(0, Nbd.CMD_TRIM, 3, 0, 0xFFFFFE00L);
            expectChunkError(c, 3, Nbd.EINVAL, "beyond the end");
            assertInSync(c, 4);
            assertFalse(c.closedByServer(100));
        }
        assertGoodClientServed();
    }

    private void waitForConnections(int n) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (connectionsBesidesBystander() > n && System.currentTimeMillis() < end) Thread.sleep(10);
        if (connectionsBesidesBystander() != n) {
            Thread.getAllStackTraces().forEach((t, st) -> {
                if (t.getName().startsWith("nbd")) {
                    System.err.println("THREAD " + t.getName());
                    for (StackTraceElement e : st) System.err.println("    " + e);
                }
            });
        }
        assertEquals(n, connectionsBesidesBystander());
    }
}
