package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * For a device fio wrote with {@code --verify=crc32c} and {@code --bs=BLOCK} (fio 3.x's verify
 * header): at every crash point every block is either zeros (never written, or discarded) or a
 * whole fio block written for that offset — its header names this offset and the block size, and
 * both checksums hold. A torn, misplaced or corrupted block is a violation. fio's header:
 * {@code u16 magic 0xacca | u16 type (5: crc32c) | u32 len | u64 seed | u64 offset | u32 sec | u32 nsec |
 * u16 thread | u16 numberio | u32 crc of the 36 bytes before | u32 crc32c of the rest of the block};
 * fio's crc32c is the standard one, not inverted at the end.
 */
public final class FioInvariant implements InvariantChecker {
    private static final int MAGIC = 0xacca;
    private static final int CRC32C_TYPE = 5;
    private static final int HEADER_BYTES = 44;
    private final int blockBytes;

    public FioInvariant(int blockBytes) {
        this.blockBytes = blockBytes;
    }

    @Override
    public String name() { return "fio"; }

    @Override
    public List<String> check(CrashPoint point, FileChannel image) throws IOException {
        List<String> problems = new ArrayList<>();
        ImageReader reader = new ImageReader(image);
        byte[] block = new byte[blockBytes];
        for (long offset = 0; offset + blockBytes <= image.size(); offset += blockBytes) {
            reader.read(offset, blockBytes).get(block);
            String problem = problem(block, offset);
            if (problem != null) problems.add("block at byte " + offset + ": " + problem);
        }
        return problems;
    }

    private String problem(byte[] block, long offset) {
        boolean zero = true;
        for (byte x : block) if (x != 0) { zero = false; break; }
        if (zero) return null;
        ByteBuffer h = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        if ((h.getShort(0) & 0xffff) != MAGIC) return "no fio verify header";
        if ((h.getShort(2) & 0xffff) != CRC32C_TYPE || h.getInt(4) != blockBytes) return "not a crc32c block of " + blockBytes + " bytes";
        if (h.getLong(16) != offset) return "fio wrote it for byte " + h.getLong(16);
        if (h.getInt(36) != ~crc(block, 0, 36)) return "header checksum mismatch";
        if (h.getInt(40) != ~crc(block, HEADER_BYTES, blockBytes - HEADER_BYTES)) return "data checksum mismatch (torn or corrupted)";
        return null;
    }

    private static int crc(byte[] b, int from, int length) {
        CRC32C c = new CRC32C();
        c.update(b, from, length);
        return (int) c.getValue();
    }
}
