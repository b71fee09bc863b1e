package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Option haggling: what each option answers, byte for byte where it matters. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HandshakeTest extends ServerTestBase {

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() throws Exception {
        try (WireClient c = client()) {
            assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, c.readGreeting());
        }
    }

    @Test
    void listNamesEveryExportThenAcks() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_LIST, new byte[0]);
            List<String> names = new ArrayList<>();
            for (;;) {
                WireClient.OptionReply r = c.readOptionReply();
                assertEquals(Nbd.OPT_LIST, r.option());
                if (r.type() == Nbd.REP_ACK) break;
                assertEquals(Nbd.REP_SERVER, r.type());
                ByteBuffer b = ByteBuffer.wrap(r.data());
                int len = b.getInt();
                names.add(new String(r.data(), 4, len, StandardCharsets.UTF_8));
                String description = new String(r.data(), 4 + len, r.data().length - 4 - len, StandardCharsets.UTF_8);
                assertTrue(description.startsWith("ddmapper device"), description);
            }
            assertEquals(List.of("disk", "ro"), names);
        }
    }

    @Test
    void listWithDataIsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_LIST, new byte[3]);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("carries no data"), r.text());
        }
    }

    @Test
    void infoAnswersExportBlockSizeNameAndDescription() throws Exception {
        awaitNoOpeners("ro");
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_INFO, WireClient.infoRequest("ro", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION, Nbd.INFO_BLOCK_SIZE));
            boolean export = false, block = false, name = false, description = false;
            for (;;) {
                WireClient.OptionReply r = c.readOptionReply();
                if (r.type() == Nbd.REP_ACK) break;
                assertEquals(Nbd.REP_INFO, r.type());
                ByteBuffer b = ByteBuffer.wrap(r.data());
                switch (b.getShort()) {
                    case Nbd.INFO_EXPORT -> {
                        assertEquals(12, r.data().length);
                        assertEquals(RO_BYTES, b.getLong());
                        int flags = b.getShort() & 0xffff;
                        assertTrue((flags & Nbd.FLAG_READ_ONLY) != 0, "read-only flag");
                        assertEquals(0, flags & (Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FUA));
                        export = true;
                    }
                    case Nbd.INFO_BLOCK_SIZE -> {
                        assertEquals(512, b.getInt());
                        assertEquals(4096, b.getInt());
                        assertEquals(32 << 20, b.getInt());
                        block = true;
                    }
                    case Nbd.INFO_NAME -> {
                        assertEquals("ro", new String(r.data(), 2, r.data().length - 2, StandardCharsets.UTF_8));
                        name = true;
                    }
                    case Nbd.INFO_DESCRIPTION -> {
                        assertTrue(new String(r.data(), 2, r.data().length - 2, StandardCharsets.UTF_8).contains("read-only"));
                        description = true;
                    }
                    default -> throw new AssertionError("unexpected info type");
                }
            }
            assertTrue(export && block && name && description);
            // INFO does not enter transmission and holds no opener.
            assertEquals(0, devices.device("ro").openers(), "openers of ro after INFO");
            assertEquals(RO_BYTES, c.go("ro").size());
        }
    }

    @Test
    void goOnWritableExportAdvertisesWhatItDoes() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            WireClient.Export e = c.go("disk");
            assertEquals(DISK_BYTES, e.size());
            int expected = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
                    | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_DF | Nbd.FLAG_CAN_MULTI_CONN | Nbd.FLAG_SEND_CACHE;
            assertEquals(expected, e.flags());
            assertEquals(1, devices.device("disk").openers());
        }
    }

    @Test
    void goOnUnknownExportAnswersUnknownAndNegotiationGoesOn() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_GO, WireClient.infoRequest("nope"));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_UNKNOWN, r.type());
            assertTrue(r.text().contains("no export named 'nope'"), r.text());
            assertEquals(DISK_BYTES, c.go("disk").size());
        }
    }

    @Test
    void emptyNameMeansTheOnlyExport() throws Exception {
        devices.remove(org.ddmapper.api.DeviceRef.of("ro"), false);
        try (WireClient c = client().start()) {
            assertEquals(DISK_BYTES, c.go("").size());
        }
    }

    @Test
    void emptyNameWithSeveralExportsIsRefusedWithAReason() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_GO, WireClient.infoRequest(""));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_UNKNOWN, r.type());
            assertTrue(r.text().contains("name one of them"), r.text());
        }
    }

    @Test
    void exportNameWithAndWithoutZeroes() throws Exception {
        try (WireClient c = client()) {
            c.readGreeting();
            c.out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE);
            c.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            assertEquals(DISK_BYTES, c.in.readLong());
            assertTrue((c.in.readUnsignedShort() & Nbd.FLAG_SEND_FLUSH) != 0);
            byte[] zeroes = c.readBytes(124);
            for (byte z : zeroes) assertEquals(0, z);
            c.sendRequest(0, Nbd.CMD_FLUSH, 1, 0, 0);
            assertEquals(0, c.readSimpleReply().error());
        }
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            assertEquals(DISK_BYTES, c.in.readLong());
            c.in.readUnsignedShort();
            // No zeroes: the next thing on the wire is our flush's reply.
            c.sendRequest(0, Nbd.CMD_FLUSH, 2, 0, 0);
            assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply());
        }
    }

    @Test
    void exportNameOfUnknownExportDisconnects() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_EXPORT_NAME, "missing".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer(5000));
        }
        assertGoodClientServed();
    }

    @Test
    void abortIsAcknowledgedThenClosed() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_ABORT, new byte[0]);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.OPT_ABORT, r.option());
            assertEquals(Nbd.REP_ACK, r.type());
            assertTrue(c.closedByServer(5000));
        }
    }

    @Test
    void structuredReplyTwiceIsAcknowledgedBothTimes() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            c.structuredReplies();
            c.go("disk");
            c.sendRequest(0, Nbd.CMD_READ, 5, 0, 512);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, chunk.type());
            assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags());
            assertEquals(8 + 512, chunk.payload().length);
        }
    }

    @Test
    void structuredReplyWithDataIsInvalid() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_STRUCTURED_REPLY, new byte[1]);
            assertEquals(Nbd.REP_ERR_INVALID, c.readOptionReply().type());
            // Not negotiated: reads get simple replies.
            c.go("disk");
            c.sendRequest(0, Nbd.CMD_READ, 5, 0, 512);
            assertEquals(new WireClient.SimpleReply(0, 5), c.readSimpleReply());
            c.readBytes(512);
        }
    }

    @Test
    void metaContextNeedsStructuredReplies() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest("disk", "base:allocation"));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("STRUCTURED_REPLY"), r.text());
        }
    }

    @Test
    void listMetaContextOffersBaseAllocation() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            for (String[] queries : new String[][] {{}, {"base:"}, {"base:allocation"}, {"qemu:dirty-bitmap:x", "base:"}}) {
                c.sendOption(Nbd.OPT_LIST_META_CONTEXT, WireClient.metaRequest("disk", queries));
                WireClient.OptionReply r = c.readOptionReply();
                assertEquals(Nbd.REP_META_CONTEXT, r.type());
                assertEquals("base:allocation", new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8));
                assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            }
            c.sendOption(Nbd.OPT_LIST_META_CONTEXT, WireClient.metaRequest("disk", "x-other:thing"));
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type(), "unknown namespaces are ignored");
        }
    }

    @Test
    void setMetaContextSelectsBaseAllocationForBlockStatus() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest("disk", "base:allocation", "x-foo:bar"));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_META_CONTEXT, r.type());
            assertEquals(Nbd.CONTEXT_BASE_ALLOCATION_ID, ByteBuffer.wrap(r.data()).getInt());
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            c.go("disk");
            c.sendRequest(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 3, 8192, 65536);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, chunk.type());
            assertEquals(3, chunk.handle());
            ByteBuffer b = ByteBuffer.wrap(chunk.payload());
            assertEquals(Nbd.CONTEXT_BASE_ALLOCATION_ID, b.getInt());
            assertEquals(65536, b.getInt(), "one extent covering the request");
            assertEquals(0, b.getInt(), "allocated data: the default answer of a device that reports no holes");
        }
    }

    @Test
    void setMetaContextForAnotherExportDoesNotCarryOver() throws Exception {
        try (WireClient c = client().start()) {
            c.structuredReplies();
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest("ro", "base:allocation"));
            assertEquals(Nbd.REP_META_CONTEXT, c.readOptionReply().type());
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            c.go("disk");
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 3, 0, 4096);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_ERROR, chunk.type());
            assertEquals(Nbd.EINVAL, chunk.error());
        }
    }

    @Test
    void startTlsIsRefusedByPolicy() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ERR_POLICY, c.readOptionReply().type());
            c.go("disk");
        }
    }

    @Test
    void unknownOptionIsUnsupportedAndItsPayloadConsumed() throws Exception {
        try (WireClient c = client().start()) {
            c.sendOption(0x7654321, new byte[] {1, 2, 3, 4});
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(0x7654321, r.option());
            assertEquals(Nbd.REP_ERR_UNSUP, r.type());
            c.sendOption(Nbd.OPT_EXTENDED_HEADERS, new byte[0]);
            assertEquals(Nbd.REP_ERR_UNSUP, c.readOptionReply().type());
            assertEquals(DISK_BYTES, c.go("disk").size(), "the next option parses");
        }
    }

    @Test
    void clientWithoutFixedNewstyleIsStillServed() throws Exception {
        try (WireClient c = client()) {
            c.readGreeting();
            c.out.writeInt(0);
            c.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            assertEquals(DISK_BYTES, c.in.readLong());
            c.in.readUnsignedShort();
            c.readBytes(124);
            assertFalse(c.closedByServer(200));
        }
    }

    /** Connections of earlier tests are closed by the server after their client left; wait until they are. */
    private void awaitNoOpeners(String export) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5_000;
        while (devices.device(export).openers() != 0 && System.currentTimeMillis() < deadline) Thread.sleep(10);
        assertEquals(0, devices.device(export).openers(), "openers of " + export + " left by earlier tests");
    }
}
