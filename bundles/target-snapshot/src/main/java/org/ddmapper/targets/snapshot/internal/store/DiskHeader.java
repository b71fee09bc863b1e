package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header in chunk 0 of a persistent store ({@code struct disk_header}, 16 packed
 * little-endian bytes, the rest of the chunk zero): magic "SnAp", valid (1, or 0 once
 * invalidated; there is no way back), version 1, chunk size in sectors.
 */
public record DiskHeader(int magic, int valid, int version, int chunkSectors) {
    /** "SnAp" read as a little-endian 32-bit number. */
    public static final int MAGIC = 0x70416e53;
    /** The only on-disk version there is (SNAPSHOT_DISK_VERSION). */
    public static final int VERSION = 1;
    public static final int BYTES = 16;

    /** A header for a store of this chunk size, valid or not. */
    public static DiskHeader of(int chunkSectors, boolean valid) {
        return new DiskHeader(MAGIC, valid ? 1 : 0, VERSION, chunkSectors);
    }

    /** Reads the header from the first 16 bytes of {@code chunk0} (its position is not moved). */
    public static DiskHeader read(ByteBuffer chunk0) {
        ByteBuffer b = chunk0.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = b.position();
        return new DiskHeader(b.getInt(at), b.getInt(at + 4), b.getInt(at + 8), b.getInt(at + 12));
    }

    /** Whether chunk 0 is blank (magic 0): a new store, to be set up. */
    public boolean blank() { return magic == 0; }

    public boolean isValid() { return valid != 0; }

    /** The header as a whole chunk of {@code chunkBytes}: the 16 bytes, then zeros. */
    public ByteBuffer toChunk(int chunkBytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(chunkBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, magic).putInt(4, valid).putInt(8, version).putInt(12, chunkSectors);
        return b.clear();
    }
}
