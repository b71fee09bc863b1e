package org.ddmapper.tools.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyCheckTest {
    private static final int BYTES = 4096;
    @TempDir
    Path dir;
    private final Map<Long, ByteBuffer> device = new HashMap<>();

    private VerifyCheck.Report check(String... journalLines) throws Exception {
        Path j = dir.resolve("journal");
        Files.write(j, List.of(journalLines));
        return VerifyCheck.check(Journal.durable(j, -1),
                (index, bytes) -> device.getOrDefault(index, ByteBuffer.allocate(bytes)).duplicate());
    }

    @Test
    void blocksReadBackAsWrittenAndAFlippedByteIsDamage() {
        ByteBuffer b = VerifyBlock.encode(7, 3, 5, BYTES);
        assertEquals(new VerifyBlock.Content.Written(7, 3, 5), VerifyBlock.decode(b));
        assertInstanceOf(VerifyBlock.Content.Zero.class, VerifyBlock.decode(ByteBuffer.allocate(BYTES)));
        b.put(100, (byte) (b.get(100) ^ 1));
        assertEquals(new VerifyBlock.Content.Damaged("checksum mismatch (a torn or corrupted block)"), VerifyBlock.decode(b));
    }

    @Test
    void flushedAndFuaWritesMustBeThereAndUnflushedOnesMayBeMissing() throws Exception {
        device.put(0L, VerifyBlock.encode(7, 2, 0, BYTES));
        device.put(2L, VerifyBlock.encode(7, 4, 2, BYTES));
        VerifyCheck.Report r = check("run 7 4 4096", "W 1 0", "W 2 0", "F 2", "U 3 1", "W 4 2", "W 5 3");
        assertEquals(List.of("block 1: zeros, but write 3 was acknowledged and flushed"), r.violations());
        assertEquals(2, r.durableBlocks());
    }

    @Test
    void anOlderWriteAMisplacedOneAndDamageAreViolations() throws Exception {
        device.put(0L, VerifyBlock.encode(7, 1, 0, BYTES));
        device.put(1L, VerifyBlock.encode(7, 2, 3, BYTES));
        ByteBuffer torn = VerifyBlock.encode(7, 3, 2, BYTES);
        torn.put(4000, (byte) 0x55);
        device.put(2L, torn);
        device.put(3L, VerifyBlock.encode(9, 1, 3, BYTES));
        VerifyCheck.Report r = check("run 7 4 4096", "W 1 0", "W 2 3", "F 2", "U 5 0");
        assertEquals(List.of("block 0: write 1, older than write 5 that was acknowledged and flushed", "block 1: write 2 meant for block 3",
                "block 2: checksum mismatch (a torn or corrupted block)", "block 3: a block of another run (9)"), r.violations());
    }

    @Test
    void aTornLastJournalLineIsIgnoredAndAPrefixPromisesLess() throws Exception {
        Path j = dir.resolve("journal");
        Files.writeString(j, "run 7 4 4096\nW 1 0\nF 1\nU 2 1\nU 3");
        Journal.State all = Journal.durable(j, -1);
        assertEquals(Map.of(0L, 1L, 1L, 2L), all.durableSeqByBlock());
        assertEquals(Map.of(0L, 1L), Journal.durable(j, 3).durableSeqByBlock());
        assertTrue(Journal.durable(j, 1).durableSeqByBlock().isEmpty());
    }
}
