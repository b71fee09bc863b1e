package org.ddmapper.targets.snapshot.internal.store;

/**
 * Where things lie in the kernel's persistent exception store (dm-snap-persistent.c): the COW
 * device is an array of chunks of {@code chunkSectors}; chunk 0 holds the header, then each
 * metadata area (one chunk of {@link #exceptionsPerArea} 16-byte entries) is followed by as many
 * data chunks:
 *
 * <pre>
 * chunk 0              header
 * chunk 1              metadata area 0
 * chunks 2 .. epa+1    data
 * chunk epa+2          metadata area 1       (area a at 1 + a * (epa + 1))
 * </pre>
 *
 * Data chunks are handed out in increasing order from chunk 2, stepping over each metadata chunk
 * (the kernel's {@code skip_metadata}); the usage a status line shows is computed here too.
 */
public record StoreLayout(int chunkSectors) {
    /** Bytes of one exception entry on disk: le64 old_chunk, le64 new_chunk. */
    public static final int ENTRY_BYTES = 16;
    /** Chunks before the first metadata area (the header). */
    public static final int HEADER_CHUNKS = 1;
    /** The first data chunk of a fresh store (after the header and area 0). */
    public static final long FIRST_FREE_CHUNK = HEADER_CHUNKS + 1;

    public StoreLayout {
        if (chunkSectors <= 0 || Integer.bitCount(chunkSectors) != 1)
            throw new IllegalArgumentException("chunk size must be a power of two, not " + chunkSectors);
    }

    public int chunkBytes() { return chunkSectors << 9; }

    /** log2 of the chunk size in sectors. */
    public int chunkShift() { return Integer.numberOfTrailingZeros(chunkSectors); }

    /** Entries in one metadata area ({@code epa}). */
    public int exceptionsPerArea() { return chunkBytes() / ENTRY_BYTES; }

    /** The chunk holding metadata area {@code area}. */
    public long areaChunk(long area) {
        return HEADER_CHUNKS + (exceptionsPerArea() + 1L) * area;
    }

    /** Whether {@code chunk} is the header or a metadata area (never a data chunk). */
    public boolean isMetadataChunk(long chunk) {
        return chunk < HEADER_CHUNKS || chunk % (exceptionsPerArea() + 1L) == HEADER_CHUNKS;
    }

    /** The next free chunk after handing out {@code chunk}: the next one, stepping over a metadata area. */
    public long nextAfter(long chunk) {
        return skipMetadata(chunk + 1);
    }

    /** {@code nextFree}, or the chunk after it when it is a metadata area (the kernel's skip_metadata). */
    public long skipMetadata(long nextFree) {
        return nextFree % (exceptionsPerArea() + 1L) == HEADER_CHUNKS ? nextFree + 1 : nextFree;
    }

    /** How many whole chunks a device of {@code sectors} holds. */
    public long chunksIn(long sectors) { return sectors >>> chunkShift(); }

    /** The first sector of {@code chunk}. */
    public long sectorOf(long chunk) { return chunk << chunkShift(); }

    /** Sectors of the header and metadata areas up to and including {@code currentArea}, as status shows them. */
    public long metadataSectors(long currentArea) {
        return (currentArea + 1 + HEADER_CHUNKS) * chunkSectors;
    }
}
