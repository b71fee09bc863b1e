package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;

/**
 * An exception being made (the kernel's dm_snap_pending_exception): origin chunk {@code oldChunk}
 * is being copied to COW chunk {@code newChunk}, or written there whole by {@link #fullWrite}.
 * Writes to the snapshot's chunk and origin writes over it wait here until the exception is
 * committed. Guarded by its snapshot's lock; {@code sequence} is its place in allocation order,
 * in which the store commits.
 */
final class Pending {
    final Snapshot snapshot;
    final long oldChunk;
    final long newChunk;
    final long sequence;
    /** Whether its copy (or full write) was started. */
    boolean started;
    boolean copyOk = true;
    /** A write to the snapshot covering the whole chunk, written to the COW instead of a copy; completed when committed. */
    Bio fullWrite;
    /** Writes to the snapshot's chunk (already remapped to the COW), sent once committed. */
    final List<Bio> snapshotWrites = new ArrayList<>(1);
    /** Origin writes waiting for this copy-out. */
    final List<OriginWait> originWaits = new ArrayList<>(1);

    Pending(Snapshot snapshot, long oldChunk, long newChunk, long sequence) {
        this.snapshot = snapshot;
        this.oldChunk = oldChunk;
        this.newChunk = newChunk;
        this.sequence = sequence;
    }

    @Override
    public String toString() { return "pending " + oldChunk + " -> " + newChunk + " #" + sequence; }
}
