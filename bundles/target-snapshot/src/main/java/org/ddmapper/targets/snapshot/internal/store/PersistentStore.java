package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * The kernel's persistent exception store ({@code P}/{@code PO}, dm-snap-persistent.c) on a COW
 * device, byte for byte: see {@link StoreLayout} and {@link DiskHeader}.
 *
 * <p><b>Commits.</b> Exceptions are queued in the order their chunks were prepared. The COW is
 * flushed for them (their copied data becomes durable before the metadata that points at it: the
 * kernel's REQ_PREFLUSH), then they are written into the current area's buffer in that order and
 * the area is written with FUA; then every exception of the round gets its callback. One flush and
 * one area write are under way at a time, overlapping: the exceptions that queue while a round's
 * area is written are flushed meanwhile and make the next round (group commit: under load one area
 * write covers many exceptions, as the kernel's batching does). When an area fills, the next one is
 * zeroed on disk (with FUA) before it is written, so a reader always finds a terminator. A failed
 * write or flush, or a failed copy among the queued, makes the store invalid: later rounds write
 * nothing and every callback says false.
 *
 * <p><b>Merge.</b> {@link #prepareMerge} walks back from the last committed entry, stepping to the
 * previous area (read from disk) when the current one is empty; {@link #commitMerge} zeroes the
 * merged entries and rewrites the area with a flush and FUA.
 *
 * <p>All state is guarded by this object; no I/O is started and no callback is run while holding it
 * (a snapshot calls in holding its own lock: the order is snapshot, then store).
 */
public final class PersistentStore implements ExceptionStore {
    private final BlockDevice cow;
    private final StoreLayout layout;
    private final boolean overflowAware;
    private final long cowSectors;
    private final ByteBuffer area;
    /** Exceptions whose copy ended, in allocation order; their data is not known durable yet. */
    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    /** Exceptions whose data a completed flush made durable, waiting for an area write. */
    private final ArrayDeque<Entry> durable = new ArrayDeque<>();
    private boolean valid;
    private long nextFree;
    private long currentArea;
    private int currentCommitted;
    /** An area write (a commit round or a merge commit) is under way; the area buffer must not change. */
    private boolean writing;
    /** A flush for queued exceptions is under way. */
    private boolean flushing;
    private boolean kicking;
    private boolean kickAgain;

    private record Entry(long oldChunk, long newChunk, boolean copyOk, Consumer<Boolean> done) {}

    private PersistentStore(BlockDevice cow, StoreLayout layout, boolean overflowAware, boolean valid, long nextFree, long currentArea,
                            int currentCommitted, ByteBuffer area) {
        this.cow = cow;
        this.layout = layout;
        this.overflowAware = overflowAware;
        this.cowSectors = cow.sizeSectors();
        this.valid = valid;
        this.nextFree = nextFree;
        this.currentArea = currentArea;
        this.currentCommitted = currentCommitted;
        this.area = (area != null ? area : ByteBuffer.allocateDirect(layout.chunkBytes())).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The store {@link StoreReader} found, set up on disk first when the COW device was blank:
     * a valid header and a zeroed area 0, written with FUA (blocking).
     */
    public static PersistentStore open(BlockDevice cow, StoreImage image, boolean overflowAware) throws StoreFormatException {
        StoreLayout layout = new StoreLayout(image.chunkSectors());
        return switch (image.kind()) {
            case VALID -> new PersistentStore(cow, layout, overflowAware, true, image.nextFree(), image.currentArea(),
                    image.currentCommitted(), image.area());
            case INVALID -> new PersistentStore(cow, layout, overflowAware, false, StoreLayout.FIRST_FREE_CHUNK, 0, 0, null);
            case BLANK -> {
                if (layout.chunksIn(cow.sizeSectors()) < StoreLayout.FIRST_FREE_CHUNK)
                    throw new StoreFormatException(Errno.ENOSPC, "the COW device (" + cow.sizeSectors() + " sectors) cannot hold a header and a"
                            + " metadata area of " + layout.chunkSectors() + " sectors each");
                DeviceIo.write(cow, 0, DiskHeader.of(layout.chunkSectors(), true).toChunk(layout.chunkBytes()), Bio.FUA, "the header");
                DeviceIo.write(cow, layout.sectorOf(layout.areaChunk(0)), ByteBuffer.allocateDirect(layout.chunkBytes()), Bio.FUA,
                        "metadata area 0");
                yield new PersistentStore(cow, layout, overflowAware, true, StoreLayout.FIRST_FREE_CHUNK, 0, 0, null);
            }
        };
    }

    @Override public int chunkSectors() { return layout.chunkSectors(); }

    public StoreLayout layout() { return layout; }

    /** Whether the header said valid and nothing has failed since. */
    public synchronized boolean valid() { return valid; }

    @Override
    public synchronized long prepare() {
        if (cowSectors < (nextFree + 1) * layout.chunkSectors()) return -1;
        long chunk = nextFree;
        nextFree = layout.nextAfter(chunk);
        return chunk;
    }

    @Override
    public synchronized void commit(long oldChunk, long newChunk, boolean copyOk, Consumer<Boolean> done) {
        queue.addLast(new Entry(oldChunk, newChunk, copyOk, done));
    }

    /**
     * Moves queued exceptions on: a flush for those whose data is not known durable yet, an area
     * write for those whose data is. The two overlap (while one round's area is written, the next
     * round's data is flushed), so under load a round costs about one flush, not two. One thread at
     * a time runs the loop; a call meanwhile (a callback, maybe on this very thread) asks it to look again.
     */
    @Override
    public void flushCommits() {
        synchronized (this) {
            if (kicking) {
                kickAgain = true;
                return;
            }
            kicking = true;
        }
        while (true) {
            Runnable step;
            synchronized (this) {
                step = nextStep();
                if (step == null) {
                    if (!kickAgain) {
                        kicking = false;
                        return;
                    }
                    kickAgain = false;
                    continue;
                }
            }
            step.run();
        }
    }

    /** Under the lock: the next thing to start, or null. */
    private Runnable nextStep() {
        if (!flushing && !queue.isEmpty()) {
            List<Entry> batch = new ArrayList<>(queue);
            queue.clear();
            flushing = true;
            return () -> cow.submit(Bio.flush(status -> {
                if (!status.isOk()) fail("flushing copied chunks before their metadata", status);
                synchronized (this) {
                    flushing = false;
                    durable.addAll(batch);
                }
                flushCommits();
            }));
        }
        if (!writing && !durable.isEmpty()) return nextRound()::start;
        return null;
    }

    /** Under the lock: puts durable entries into the area (up to its end) and claims the area for writing. */
    private Round nextRound() {
        List<Entry> batch = new ArrayList<>();
        int perArea = layout.exceptionsPerArea();
        while (!durable.isEmpty() && currentCommitted < perArea) {
            Entry e = durable.pollFirst();
            if (!e.copyOk) valid = false;
            int at = currentCommitted++ * StoreLayout.ENTRY_BYTES;
            area.putLong(at, e.oldChunk).putLong(at + 8, e.newChunk);
            batch.add(e);
        }
        writing = true;
        return new Round(batch, currentCommitted == perArea, currentArea);
    }

    /** One area write: zero the next area (durably) if this one filled, then write this one with FUA, then the callbacks. */
    private final class Round {
        private final List<Entry> batch;
        private final boolean full;
        private final long areaIndex;

        Round(List<Entry> batch, boolean full, long areaIndex) {
            this.batch = batch;
            this.full = full;
            this.areaIndex = areaIndex;
        }

        void start() {
            if (full && valid()) {
                long next = layout.areaChunk(areaIndex + 1);
                cow.submit(Bio.write(layout.sectorOf(next), ByteBuffer.allocateDirect(layout.chunkBytes()), Bio.FUA, status -> {
                    if (!status.isOk()) fail("zeroing metadata area " + (areaIndex + 1), status);
                    writeArea();
                }));
            } else {
                writeArea();
            }
        }

        private void writeArea() {
            if (!valid()) {
                finish();
                return;
            }
            cow.submit(Bio.write(layout.sectorOf(layout.areaChunk(areaIndex)), area.duplicate().clear(), Bio.FUA, written -> {
                if (!written.isOk()) fail("writing metadata area " + areaIndex, written);
                finish();
            }));
        }

        private void finish() {
            boolean ok;
            synchronized (PersistentStore.this) {
                if (full) {
                    currentCommitted = 0;
                    currentArea++;
                    clearArea();
                }
                writing = false;
                ok = valid;
            }
            for (Entry e : batch) e.done.accept(ok);
            flushCommits();
        }
    }

    private void fail(String what, IoStatus status) {
        Logger.error("snapshot store on {}: {} failed: {}", cow.reference(), what, status);
        synchronized (this) {
            valid = false;
        }
    }

    private void clearArea() {
        ByteBuffer b = area.duplicate().clear();
        while (b.hasRemaining()) b.put((byte) 0);
    }

    @Override
    public void drop(Runnable done) {
        synchronized (this) {
            valid = false;
        }
        cow.submit(Bio.write(0, DiskHeader.of(layout.chunkSectors(), false).toChunk(layout.chunkBytes()), Bio.FUA, status -> {
            if (!status.isOk()) Logger.error("snapshot store on {}: writing the invalid header failed: {}", cow.reference(), status);
            done.run();
        }));
    }

    @Override
    public synchronized Usage usage() {
        return new Usage(nextFree * layout.chunkSectors(), cowSectors, layout.metadataSectors(currentArea));
    }

    @Override
    public String tableText() { return (overflowAware ? "PO " : "P ") + layout.chunkSectors(); }

    /** Finds the next run to merge (see {@link MergeRun}); reads the previous area when the current one is empty. */
    public void prepareMerge(Consumer<MergeRun> done, Consumer<String> failed) {
        long previous;
        MergeRun now = null;
        synchronized (this) {
            if (currentCommitted > 0) now = lastRun();
            else if (currentArea == 0) now = MergeRun.NOTHING_LEFT;
            previous = currentArea - 1;
            if (now == null) writing = true;
        }
        if (now != null) {
            done.accept(now);
            return;
        }
        ByteBuffer into = ByteBuffer.allocateDirect(layout.chunkBytes());
        cow.submit(Bio.read(layout.sectorOf(layout.areaChunk(previous)), into.duplicate(), status -> {
            MergeRun run = null;
            synchronized (this) {
                writing = false;
                if (status.isOk()) {
                    area.duplicate().clear().put(into.duplicate().clear());
                    currentArea = previous;
                    currentCommitted = layout.exceptionsPerArea();
                    run = lastRun();
                }
            }
            if (run != null) done.accept(run);
            else failed.accept("reading metadata area " + previous + " failed: " + status);
        }));
    }

    /** Under the lock: the last committed entry and the consecutive ones before it. */
    private MergeRun lastRun() {
        int last = currentCommitted - 1;
        long oldChunk = area.getLong(last * StoreLayout.ENTRY_BYTES);
        long newChunk = area.getLong(last * StoreLayout.ENTRY_BYTES + 8);
        int n = 1;
        while (n < currentCommitted) {
            int at = (last - n) * StoreLayout.ENTRY_BYTES;
            if (area.getLong(at) != oldChunk - n || area.getLong(at + 8) != newChunk - n) break;
            n++;
        }
        return new MergeRun(oldChunk + 1 - n, newChunk + 1 - n, n);
    }

    /** Zeroes the last {@code chunks} entries and rewrites the area (flush, then FUA); {@code done} gets the write's status. */
    public void commitMerge(int chunks, Consumer<IoStatus> done) {
        long areaIndex;
        synchronized (this) {
            for (int i = 0; i < chunks; i++) {
                int at = (currentCommitted - 1 - i) * StoreLayout.ENTRY_BYTES;
                area.putLong(at, 0).putLong(at + 8, 0);
            }
            areaIndex = currentArea;
            writing = true;
        }
        cow.submit(Bio.flush(flushed -> {
            if (!flushed.isOk()) {
                endMerge(0, done, flushed);
                return;
            }
            cow.submit(Bio.write(layout.sectorOf(layout.areaChunk(areaIndex)), area.duplicate().clear(), Bio.FUA,
                    written -> endMerge(written.isOk() ? chunks : 0, done, written)));
        }));
    }

    private void endMerge(int merged, Consumer<IoStatus> done, IoStatus status) {
        synchronized (this) {
            writing = false;
            currentCommitted -= merged;
            nextFree = layout.areaChunk(currentArea) + currentCommitted + 1;
        }
        done.accept(status);
    }

    @Override
    public String toString() { return "persistent store on " + cow.reference() + " (" + layout.chunkSectors() + "-sector chunks)"; }
}
