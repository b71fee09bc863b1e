package org.ddmapper.targets.snapshot.internal.store;

/**
 * The next exceptions a merge copies back (the kernel's prepare_merge): the last committed entry
 * and the entries before it in its area whose origin and COW chunks both count down by one, so
 * they go back as one copy of {@code chunks} chunks from {@code firstNewChunk} on the COW device to
 * {@code firstOldChunk} on the origin. {@code chunks} 0: nothing is left to merge.
 */
public record MergeRun(long firstOldChunk, long firstNewChunk, int chunks) {
    public static final MergeRun NOTHING_LEFT = new MergeRun(0, 0, 0);

    public boolean done() { return chunks == 0; }
}
