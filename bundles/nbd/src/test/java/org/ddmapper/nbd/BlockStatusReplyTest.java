package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Extent;
import org.ddmapper.api.Extent.Kind;
import org.ddmapper.nbd.internal.BlockStatusReply;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.Test;

/** The block-status answer on its own: runs clipped to the request as descriptors, REQ_ONE, the cap, the chunk's bytes. */
class BlockStatusReplyTest {
    static final int HOLE = Nbd.STATE_HOLE | Nbd.STATE_ZERO;

    static int[] descriptors(List<Extent> runs, long offset, long end, boolean reqOne) {
        return BlockStatusReply.descriptors(runs, offset, end, reqOne);
    }

    @Test
    void runsAreClippedToTheRequestAndRunsOutsideItSkipped() {
        List<Extent> runs = List.of(new Extent(0, 16, Kind.DATA), new Extent(16, 32, Kind.HOLE), new Extent(48, 152, Kind.DATA));
        assertArrayEquals(new int[] {4096, 0, 12288, HOLE}, descriptors(runs, 4096, 4096 + 16384, false));
        assertArrayEquals(new int[] {4096, 0}, descriptors(runs, 4096, 4096 + 16384, true), "REQ_ONE: the first only");
        assertArrayEquals(new int[] {512, HOLE}, descriptors(runs, 16 * 512, 17 * 512, false));
        assertArrayEquals(new int[0], descriptors(List.of(new Extent(100, 8, Kind.DATA)), 0, 4096, false), "nothing within");
    }

    @Test
    void oneReplyHoldsAtMostTheCapOfDescriptors() {
        List<Extent> runs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) runs.add(new Extent(i, 1, i % 2 == 0 ? Kind.DATA : Kind.HOLE));
        int[] d = descriptors(runs, 0, 1000 * 512, false);
        assertEquals(2 * BlockStatusReply.MAX_DESCRIPTORS, d.length, "capped so the chunk fits an output header");
        assertEquals(513, BlockStatusReply.MAX_DESCRIPTORS);
        ByteBuffer b = ByteBuffer.allocate(32 + Nbd.MAX_STRING_BYTES);
        BlockStatusReply.encode(b, 9L, d);
        assertEquals(24 + 4 * d.length, b.position(), "the chunk: 20-byte header, context id, descriptors");
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, b.getInt(0));
        assertEquals(9L, b.getLong(8));
        assertEquals(4 + 4 * d.length, b.getInt(16));
        assertEquals(Nbd.CONTEXT_BASE_ALLOCATION_ID, b.getInt(20));
    }
}
