package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.targets.snapshot.internal.store.ExceptionStore;
import org.ddmapper.targets.snapshot.internal.store.Usage;
import org.tinylog.Logger;

/**
 * One snapshot's exceptions and their making (the kernel's struct dm_snapshot), shared by the
 * {@code snapshot} and {@code snapshot-merge} targets.
 *
 * <p><b>An exception's life.</b> A write to an origin chunk that has no exception yet (through
 * the origin, or to the snapshot itself) allocates a COW chunk from the store and becomes a
 * {@link Pending}; its copy (or a whole-chunk snapshot write standing in for it) runs through the
 * shared copier; copies end in any order but are committed in allocation order (kept by sequence
 * numbers); once the store says the exception is durable it joins the completed map, and only
 * then — and after any snapshot read still reading that chunk from the origin — do the writes
 * that waited go on: origin writes to the origin, snapshot writes to the COW.
 *
 * <p><b>Failure.</b> A failed copy, a failed metadata write or a full COW invalidates the
 * snapshot: the store is dropped (valid flag cleared on disk), its I/O fails with EIO, origin
 * writes no longer wait for it, and one {@code SNAPSHOT_INVALID} event says why. With {@code PO},
 * a snapshot write that finds the COW full only marks the snapshot overflowed (status
 * "Overflow", snapshot writes fail, reads work; not persisted), as the kernel does.
 *
 * <p><b>Locking.</b> All state is guarded by this object and no I/O is started and no event raised
 * while holding it: callers collect what to do and do it after the lock ({@link #afterLock}).
 */
public final class Snapshot {
    final SnapshotArgs args;
    final boolean merging;
    final TargetContext context;
    /** Origin writes at or beyond this absolute sector do not concern this snapshot (the kernel's table size). */
    final long limitSector;

    ExceptionStore store;
    ChunkMap complete = new ChunkMap();
    final Map<Long, Pending> pending = new HashMap<>();
    private final TreeMap<Long, Pending> outOfOrder = new TreeMap<>();
    private long startSequence;
    private long completeSequence;
    /** Pending exceptions made and not released yet (a table going away waits for 0). */
    private int unreleased;
    final ReadTracker reads = new ReadTracker();
    boolean valid = true;
    boolean overflowed;
    boolean mergeFailed;
    /** Registered with its origin: origin writes make exceptions in it. */
    boolean active;
    private volatile boolean suspended;
    private String invalidEventDue;
    private boolean overflowEventDue;
    /** Whether the invalid header is being written: what must not overtake it waits in {@link #afterDrop}. */
    private boolean dropping;
    private final List<Runnable> afterDrop = new ArrayList<>();
    int chunkShift;

    public Snapshot(SnapshotArgs args, boolean merging, TargetContext context) {
        this.args = args;
        this.merging = merging;
        this.context = context;
        this.limitSector = context.startSector() + context.lengthSectors();
    }

    public SnapshotArgs args() { return args; }

    public String cowKey() { return args.cowKey(); }

    public boolean merging() { return merging; }

    /** Takes a store with what is known of it (read from disk, handed over or imported). */
    public synchronized void useStore(ExceptionStore store, ChunkMap exceptions, boolean storeValid, boolean wasOverflowed, boolean failedMerge) {
        this.store = store;
        this.complete = exceptions;
        this.valid = storeValid;
        this.overflowed = wasOverflowed;
        this.mergeFailed = failedMerge;
        this.chunkShift = Integer.numberOfTrailingZeros(store.chunkSectors());
    }

    public synchronized boolean hasStore() { return store != null; }

    synchronized ExceptionStore store() { return store; }

    public synchronized int chunkSectors() { return store == null ? args.tableChunkSectors() : store.chunkSectors(); }

    public synchronized boolean isActive() { return active; }

    synchronized void active(boolean on) { active = on; }

    public boolean suspended() { return suspended; }

    public void suspended(boolean on) { suspended = on; }

    /**
     * Moves the exceptions, store and state to {@code dest}, another table of this snapshot (the
     * kernel's __handover_exceptions); this one becomes invalid so that it takes no more I/O.
     * Called while the origin is frozen, with no copy-out of this snapshot in flight.
     */
    public void handOverTo(Snapshot dest) {
        ExceptionStore s;
        ChunkMap c;
        boolean v;
        boolean o;
        boolean m;
        synchronized (this) {
            s = store;
            c = complete;
            v = valid;
            o = overflowed;
            m = mergeFailed;
            store = null;
            complete = new ChunkMap();
            valid = false;
        }
        dest.useStore(s, c, v, o, m);
    }

    // ------------------------------------------------------------------ origin writes

    /**
     * An origin write over absolute sectors [start, end): every chunk of it this snapshot has no
     * exception for gets one started; {@code wait} counts each copy-out it must wait for (also those
     * already pending). New pendings go to {@code toStart}, for the caller to start after the lock.
     */
    int originWrite(long start, long end, OriginWait wait, List<Pending> toStart) {
        int waits = 0;
        synchronized (this) {
            end = Math.min(end, limitSector);
            if (!valid || !active || merging || store == null || start >= end) return 0;
            for (long chunk = start >>> chunkShift, last = (end - 1) >>> chunkShift; chunk <= last; chunk++) {
                Pending pe = pending.get(chunk);
                if (pe == null) {
                    if (complete.contains(chunk)) continue;
                    pe = newPending(chunk);
                    if (pe == null) {
                        invalidate("overflow", "the COW device is full");
                        // the origin write must not land before the store says invalid on disk
                        wait.add();
                        waits++;
                        afterDrop.add(wait::done);
                        break;
                    }
                }
                pe.originWaits.add(wait);
                wait.add();
                waits++;
                if (!pe.started) {
                    pe.started = true;
                    toStart.add(pe);
                }
            }
        }
        afterLock();
        return waits;
    }

    /** Under the lock: a new pending exception for {@code chunk}, or null when the COW is full. */
    Pending newPending(long chunk) {
        long newChunk = store.prepare();
        if (newChunk < 0) return null;
        Pending pe = new Pending(this, chunk, newChunk, startSequence++);
        pending.put(chunk, pe);
        unreleased++;
        return pe;
    }

    // ------------------------------------------------------------------ copy, commit, release

    /** A pending exception's copy (or full write) ended; commits in allocation order. */
    void copied(Pending pe, boolean ok) {
        ExceptionStore s;
        synchronized (this) {
            pe.copyOk = ok;
            s = store;
            if (pe.sequence != completeSequence) {
                outOfOrder.put(pe.sequence, pe);
                return;
            }
            completeSequence++;
            commit(pe);
            while (!outOfOrder.isEmpty() && outOfOrder.firstKey() == completeSequence) {
                completeSequence++;
                commit(outOfOrder.pollFirstEntry().getValue());
            }
        }
        if (s != null) s.flushCommits();
    }

    private void commit(Pending pe) {
        if (store == null) {
            // handed over meanwhile: cannot happen while the origin is frozen, but never lose the waiters
            Pending p = pe;
            context.scheduler().execute(() -> committed(p, false));
            return;
        }
        store.commit(pe.oldChunk, pe.newChunk, pe.copyOk, success -> committed(pe, success));
    }

    /** The store recorded (or failed to record) a pending exception. */
    private void committed(Pending pe, boolean success) {
        boolean error = false;
        boolean deferred = false;
        synchronized (this) {
            if (!success) {
                if (valid) invalidate(pe.copyOk ? "metadata_error" : "io_error",
                        pe.copyOk ? "writing the exception store failed" : "copying origin chunk " + pe.oldChunk + " failed");
                error = true;
            } else if (!valid) {
                error = true;
            } else {
                complete.putIfAbsent(pe.oldChunk, pe.newChunk);
                if (reads.covers(pe.oldChunk)) {
                    reads.whenFree(pe.oldChunk, () -> release(pe, false));
                    deferred = true;
                }
            }
        }
        afterLock();
        if (deferred) return;
        if (error) whenDropped(() -> release(pe, true));
        else release(pe, false);
    }

    /** Runs {@code action} once the invalid header is durable, or now when none is being written. */
    private void whenDropped(Runnable action) {
        synchronized (this) {
            if (dropping) {
                afterDrop.add(action);
                return;
            }
        }
        action.run();
    }

    /**
     * Forgets a pending exception and lets what waited for it go on. Taking the waiters and
     * removing it from the pending map is one step under the lock, so that no origin write can
     * join it after its waiters were taken.
     */
    private void release(Pending pe, boolean error) {
        List<Bio> writes;
        List<OriginWait> waits;
        Bio full;
        synchronized (this) {
            pending.remove(pe.oldChunk);
            writes = new ArrayList<>(pe.snapshotWrites);
            waits = new ArrayList<>(pe.originWaits);
            full = pe.fullWrite;
            pe.snapshotWrites.clear();
            pe.originWaits.clear();
            pe.fullWrite = null;
        }
        IoStatus failed = IoStatus.error(Errno.EIO, "snapshot " + context.deviceName() + " is invalid");
        if (full != null) full.complete(error ? failed : IoStatus.OK);
        for (Bio w : writes) {
            if (error) w.complete(failed);
            else args.cow().submit(w);
        }
        for (OriginWait w : waits) w.done();
        synchronized (this) {
            if (--unreleased == 0) notifyAll();
        }
    }

    /** Reads from the origin that ended: runs the releases they held back. */
    void untrack(ReadTracker.Range range) {
        List<Runnable> freed;
        synchronized (this) {
            freed = reads.untrack(range);
        }
        freed.forEach(Runnable::run);
    }

    // ------------------------------------------------------------------ invalid, overflow

    /** Under the lock: makes the snapshot invalid (once); the store is dropped and the event raised after the lock. */
    void invalidate(String reason, String detail) {
        if (!valid) return;
        valid = false;
        invalidEventDue = reason;
        dropping = true;
        unreleased++;
        Logger.error("snapshot {} (COW {}): invalidated: {}", context.deviceName(), args.cow().reference(), detail);
    }

    /** Under the lock: a snapshot write found the COW full with PO. */
    void overflow() {
        if (overflowed) return;
        overflowed = true;
        overflowEventDue = true;
        Logger.error("snapshot {} (COW {}): overflowed: the COW device is full", context.deviceName(), args.cow().reference());
    }

    /** Drops the store and raises the events that state changes under the lock made due. Call after every locked section that may change them. */
    void afterLock() {
        String invalid;
        boolean overflow;
        ExceptionStore s;
        Usage usage = null;
        synchronized (this) {
            invalid = invalidEventDue;
            overflow = overflowEventDue;
            invalidEventDue = null;
            overflowEventDue = false;
            s = store;
            if (overflow && s != null) usage = s.usage();
        }
        if (invalid != null) {
            Runnable dropped = () -> {
                List<Runnable> waiting;
                synchronized (this) {
                    dropping = false;
                    waiting = new ArrayList<>(afterDrop);
                    afterDrop.clear();
                    if (--unreleased == 0) notifyAll();
                }
                waiting.forEach(Runnable::run);
            };
            if (s != null) s.drop(dropped);
            else dropped.run();
            raise(new EventPayload.SnapshotInvalid(invalid));
        }
        if (overflow && usage != null) raise(new EventPayload.SnapshotOverflow(usage.allocatedSectors(), usage.totalSectors()));
    }

    void raise(EventPayload payload) {
        context.raise(payload);
    }

    /** Waits until no exception is pending and no invalid header is being written (a table going away must not close the COW under them). */
    public synchronized boolean awaitNoPending(long timeoutMillis) {
        return BoundedWait.until(this, () -> unreleased == 0, timeoutMillis);
    }

    // ------------------------------------------------------------------ status

    /** The INFO text: Invalid, Merge failed, Overflow, usage, or Unknown before the store is read. */
    public synchronized String infoText() {
        if (!valid) return "Invalid";
        if (mergeFailed) return "Merge failed";
        if (overflowed) return "Overflow";
        return store == null ? "Unknown" : store.usage().text();
    }

    /** The TABLE text, with the store's chunk size once it is known. */
    public synchronized String tableText() {
        return args.tableText(store == null ? args.tableStoreText() : store.tableText());
    }

    public synchronized Usage usage() { return store == null ? null : store.usage(); }

    public synchronized boolean valid() { return valid; }

    public synchronized boolean overflowed() { return overflowed; }

    public synchronized boolean mergeFailed() { return mergeFailed; }

    /** A copy of the completed exceptions (for a live upgrade of a transient store). */
    public synchronized Map<Long, Long> exceptions() {
        Map<Long, Long> out = new HashMap<>();
        complete.forEach(out::put);
        return out;
    }

    @Override
    public String toString() { return (merging ? "merging snapshot " : "snapshot ") + context.deviceName() + " on " + args.cow().reference(); }
}
