package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.Extent.Kind;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.StoredDevice;

/** BLOCK_STATUS for base:allocation: the device's runs on the wire, clipped to the request, REQ_ONE, errors, out of order. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BlockStatusTest extends ServerTestBase {
    /** Sectors 0..16 data, 16..48 a hole, 48..200 data: more than any request below asks for. */
    private static final List<Extent> RUNS = List.of(new Extent(0, 16, Kind.DATA), new Extent(16, 32, Kind.HOLE),
            new Extent(48, 152, Kind.DATA));

    private WireClient withBaseAllocation(String export) throws IOException {
        WireClient c = client().start();
        c.structuredReplies();
        c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest(export, "base:allocation"));
        assertEquals(Nbd.REP_META_CONTEXT, c.readOptionReply().type());
        assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
        c.go(export);
        return c;
    }

    /** The descriptors of a BLOCK_STATUS chunk as {length, flags} pairs. */
    private static List<List<Integer>> descriptors(WireClient.Chunk chunk) {
        assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, chunk.type());
        assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags());
        ByteBuffer b = ByteBuffer.wrap(chunk.payload());
        assertEquals(Nbd.CONTEXT_BASE_ALLOCATION_ID, b.getInt());
        List<List<Integer>> out = new ArrayList<>();
        while (b.hasRemaining()) out.add(List.of(b.getInt(), b.getInt()));
        return out;
    }

    @Test
    void theDevicesRunsAreClippedToTheRequestAndHolesReadAsZero() throws Exception {
        StoredDevice disk = devices.device("disk");
        disk.answerAllocation(RUNS);
        try (WireClient c = withBaseAllocation("disk")) {
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 1, 4096, 16384);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(1, chunk.handle());
            assertEquals(List.of(List.of(4096, 0), List.of(12288, Nbd.STATE_HOLE | Nbd.STATE_ZERO)), descriptors(chunk),
                    "sectors 8..16 data, 16..40 a hole; nothing past the request's end");
        }
        assertArrayEquals(new long[] {8, 32}, disk.allocationQueries().get(0), "the query covers the request's sectors");
    }

    @Test
    void reqOneAnswersExactlyOneDescriptorWithinTheRequest() throws Exception {
        devices.device("disk").answerAllocation(RUNS);
        try (WireClient c = withBaseAllocation("disk")) {
            c.sendRequest(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 2, 0, 65536);
            assertEquals(List.of(List.of(8192, 0)), descriptors(c.readChunk()));
            c.sendRequest(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 3, 8192, 4096);
            assertEquals(List.of(List.of(4096, Nbd.STATE_HOLE | Nbd.STATE_ZERO)), descriptors(c.readChunk()));
        }
    }

    @Test
    void aFailedQueryIsAnErrorChunkWithItsReason() throws Exception {
        devices.device("disk").failAllocation(new DmException(Errno.EIO, "'/x.img': lseek(SEEK_DATA) at byte 0 failed (errno 5)"));
        try (WireClient c = withBaseAllocation("disk")) {
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 4, 0, 4096);
            WireClient.Chunk chunk = c.readChunk();
            assertEquals(Nbd.REPLY_TYPE_ERROR, chunk.type());
            assertEquals(Nbd.EIO, chunk.error());
            assertTrue(chunk.message().contains("BLOCK_STATUS at offset 0 length 4096 failed: EIO: '/x.img': lseek(SEEK_DATA)"),
                    chunk.message());
            c.sendRequest(0, Nbd.CMD_READ, 5, 0, 512);
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, c.readChunk().type(), "the connection carries on");
        }
    }

    @Test
    void aQueryOvertakesAReadHeldAtTheDevice() throws Exception {
        StoredDevice disk = devices.device("disk");
        disk.gateAt(0);
        try (WireClient c = withBaseAllocation("disk")) {
            c.sendRequest(0, Nbd.CMD_READ, 6, 0, 4096);
            await("the READ held at the device", () -> disk.gatedCount() == 1);
            c.sendRequest(0, Nbd.CMD_BLOCK_STATUS, 7, 0, 1 << 20);
            WireClient.Chunk first = c.readChunk();
            assertEquals(7, first.handle(), "answered while the READ waits");
            assertEquals(List.of(List.of(1 << 20, 0)), descriptors(first), "the default answer: all data");
            disk.openGate();
            assertEquals(6, c.readChunk().handle());
        }
    }
}
