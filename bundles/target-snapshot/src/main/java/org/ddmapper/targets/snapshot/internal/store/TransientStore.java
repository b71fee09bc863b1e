package org.ddmapper.targets.snapshot.internal.store;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The kernel's transient store ({@code N}, dm-snap-transient.c): exceptions live only in memory,
 * COW chunks are handed out from chunk 0 upwards with no header or metadata, and a commit
 * succeeds at once (its callback runs from {@link #flushCommits}, outside the snapshot's lock).
 * Usage counts the sectors handed out, metadata 0.
 */
public final class TransientStore implements ExceptionStore {
    private final int chunkSectors;
    private final long cowSectors;
    private long nextFreeSector;
    private final ArrayDeque<Runnable> done = new ArrayDeque<>();

    public TransientStore(int chunkSectors, long cowSectors, long nextFreeSector) {
        this.chunkSectors = chunkSectors;
        this.cowSectors = cowSectors;
        this.nextFreeSector = nextFreeSector;
    }

    @Override public int chunkSectors() { return chunkSectors; }

    /** The first sector not handed out yet (for a live upgrade's handover). */
    public synchronized long nextFreeSector() { return nextFreeSector; }

    @Override
    public synchronized long prepare() {
        if (cowSectors < nextFreeSector + chunkSectors) return -1;
        long chunk = nextFreeSector / chunkSectors;
        nextFreeSector += chunkSectors;
        return chunk;
    }

    @Override
    public synchronized void commit(long oldChunk, long newChunk, boolean copyOk, Consumer<Boolean> callback) {
        done.addLast(() -> callback.accept(copyOk));
    }

    @Override
    public void flushCommits() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = done.pollFirst();
            }
            if (next == null) return;
            next.run();
        }
    }

    @Override public void drop(Runnable done) { done.run(); }

    @Override
    public synchronized Usage usage() { return new Usage(nextFreeSector, cowSectors, 0); }

    @Override public String tableText() { return "N " + chunkSectors; }
}
