package org.ddmapper.tools.verify;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * One block of the verifying writer: numbered and checksummed, so a check can tell which write a
 * block holds and whether it is whole.
 *
 * <pre>
 * u64 magic "DDVERIFY" | u64 run | u64 seq | u64 block | payload (from a generator seeded by run and seq) | u32 crc32c of all before it
 * </pre>
 * little-endian; {@code run} is the writer run's random id, {@code seq} the write's number (from 1),
 * {@code block} the block index it was written to.
 */
public final class VerifyBlock {
    public static final long MAGIC = 0x5946495245564444L; // "DDVERIFY" little-endian
    private static final int HEADER_BYTES = 32;

    /** What a block holds: never written (zeros), a whole block of this format, or something else. */
    public sealed interface Content {
        record Zero() implements Content {}

        record Written(long run, long seq, long block) implements Content {}

        /** Not zeros and not a whole block of this format: why. */
        record Damaged(String why) implements Content {}
    }

    private VerifyBlock() {}

    /** The block for write {@code seq} of run {@code run} at index {@code block}. */
    public static ByteBuffer encode(long run, long seq, long block, int blockBytes) {
        ByteBuffer b = ByteBuffer.allocate(blockBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putLong(run).putLong(seq).putLong(block);
        SplittableRandom payload = new SplittableRandom(run * 0x9E3779B97F4A7C15L + seq);
        while (b.position() + 8 <= blockBytes - 4) b.putLong(payload.nextLong());
        while (b.position() < blockBytes - 4) b.put((byte) payload.nextInt());
        b.putInt(crc(b.array(), blockBytes));
        return b.flip();
    }

    /** Reads a block's content. */
    public static Content decode(ByteBuffer block) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int bytes = b.remaining();
        byte[] raw = new byte[bytes];
        b.get(raw);
        boolean zero = true;
        for (byte x : raw) {
            if (x != 0) {
                zero = false;
                break;
            }
        }
        if (zero) return new Content.Zero();
        ByteBuffer h = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes < HEADER_BYTES + 4 || h.getLong(0) != MAGIC) return new Content.Damaged("not a block of the verifying writer");
        int stored = h.getInt(bytes - 4);
        if (stored != crc(raw, bytes)) return new Content.Damaged("checksum mismatch (a torn or corrupted block)");
        return new Content.Written(h.getLong(8), h.getLong(16), h.getLong(24));
    }

    private static int crc(byte[] raw, int blockBytes) {
        CRC32C c = new CRC32C();
        c.update(raw, 0, blockBytes - 4);
        return (int) c.getValue();
    }
}
