package org.ddmapper.targets.snapshot.internal.store;

/**
 * The kernel's rules for a snapshot's chunk size (dm_exception_store_set_chunk_size), applied to
 * the table's value and to the one a store's header carries, with the kernel's words.
 */
public final class ChunkSizes {
    /** The chunk a persistent store gets when the table says 0 and the store is new: 16 KiB, or the COW's block if larger. */
    public static final int DEFAULT_SECTORS = 32;
    /** The largest chunk: INT_MAX >> SECTOR_SHIFT sectors. */
    public static final int MAX_SECTORS = Integer.MAX_VALUE >> 9;

    private ChunkSizes() {}

    /** Why {@code chunkSectors} cannot be used with these devices (the kernel's text), or null when it can. */
    public static String problem(long chunkSectors, int originBlockBytes, int cowBlockBytes) {
        if (chunkSectors <= 0 || Long.bitCount(chunkSectors) != 1) return "Chunk size is not a power of 2";
        if (chunkSectors % Math.max(1, cowBlockBytes >> 9) != 0 || chunkSectors % Math.max(1, originBlockBytes >> 9) != 0)
            return "Chunk size is not a multiple of device blocksize";
        if (chunkSectors > MAX_SECTORS) return "Chunk size is too high";
        return null;
    }

    /** The chunk of a new persistent store whose table gave 0. */
    public static int defaultFor(int cowBlockBytes) {
        return Math.max(DEFAULT_SECTORS, cowBlockBytes >> 9);
    }
}
