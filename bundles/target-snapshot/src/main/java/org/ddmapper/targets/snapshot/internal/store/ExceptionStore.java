package org.ddmapper.targets.snapshot.internal.store;

import java.util.function.Consumer;

/**
 * Where a snapshot keeps the list of its exceptions (the kernel's dm_exception_store_type):
 * {@link PersistentStore} on the COW device in the kernel's format ({@code P}, {@code PO}), or
 * {@link TransientStore} in memory ({@code N}). The snapshot hands out COW chunks with
 * {@link #prepare} and, once a chunk's copy has ended, records it with {@link #commit} — strictly
 * in the order the chunks were prepared — then calls {@link #flushCommits} outside its own lock;
 * each commit's callback says whether the exception is durable and the store still valid.
 */
public sealed interface ExceptionStore permits PersistentStore, TransientStore {

    int chunkSectors();

    /** A free COW chunk for a new exception, or -1 when the COW device is full. */
    long prepare();

    /** Queues the exception of a finished copy ({@code copyOk} false: the copy failed and the store becomes invalid). */
    void commit(long oldChunk, long newChunk, boolean copyOk, Consumer<Boolean> done);

    /** Writes what {@link #commit} queued; call without holding the snapshot's lock. */
    void flushCommits();

    /** Marks the store invalid, on disk for a persistent one (the kernel's drop_snapshot); {@code done} runs once that is durable (or failed). */
    void drop(Runnable done);

    Usage usage();

    /** The store's part of the TABLE text: {@code P 16}, {@code PO 16}, {@code N 16}. */
    String tableText();
}
