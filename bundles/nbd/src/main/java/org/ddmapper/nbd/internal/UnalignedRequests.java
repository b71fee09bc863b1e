package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * Requests of any byte alignment, served on whole device blocks; one instance per export, shared
 * by all its connections.
 *
 * <p>Why: a client that did not ask for block size constraints (no {@code NBD_INFO_BLOCK_SIZE}
 * request in {@code NBD_OPT_GO}, or {@code NBD_OPT_EXPORT_NAME}) may send any offset and length,
 * and the specification asks the server to take them; the device takes whole blocks (512-byte
 * sectors, or its logical block, e.g. 4096 under O_DIRECT). Such a request is served on the
 * blocks that cover it: a READ or CACHE reads them and the reply carries the bytes asked for; a
 * WRITE or WRITE_ZEROES reads the partial first and last block, puts the new bytes between them
 * and writes the covering blocks (read-modify-write); a TRIM, being advisory, shrinks to the whole
 * blocks inside it or does nothing. BLOCK_STATUS needs nothing. Requests made of whole blocks never
 * come here for data, only through the write gate below.
 *
 * <p>Locking: a read-modify-write must not interleave with another write to the same blocks, from
 * any connection of the export — two clients writing different bytes of one sector would lose one
 * of them. So it holds its covering byte range from before its reads until its write completed;
 * holds are granted in arrival order, each once it overlaps no running hold and no earlier waiting
 * one. Writes made of whole blocks (WRITE, WRITE_ZEROES, TRIM) do not take ranges while nothing is
 * held on the export: they only count themselves in and out (two atomic operations). Once a hold
 * is registered they take ranges too, and no hold is granted while writes counted in are still in
 * flight. Reads take nothing: like any read racing a write, they see a block before or after it.
 */
final class UnalignedRequests {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024).asReadOnlyBuffer();
    /** Granted holds waiting to start on this thread: starting one never recurses into the next. */
    private static final ThreadLocal<ArrayDeque<Runnable>> STARTING = new ThreadLocal<>();

    /** A write's claim on the export's bytes [start, end), released when its last device I/O completed. */
    static final class Hold {
        final long start;
        final long end;
        final Consumer<Hold> go;

        Hold(long start, long end, Consumer<Hold> go) {
            this.start = start;
            this.end = end;
            this.go = go;
        }

        boolean overlaps(List<Hold> others) {
            for (Hold o : others) {
                if (o.start < end && start < o.end) return true;
            }
            return false;
        }
    }

    /** The hold of a write that went straight to the device. */
    private static final Hold FAST = new Hold(0, 0, null);

    /**
     * A request's covering blocks: bytes [start, end) of the export, block-aligned except that
     * end stops at the export's end.
     */
    record Span(long offset, long length, int block, long start, long end) {
        /** Where the request's bytes begin in a buffer of the covering blocks. */
        int head() {
            return (int) (offset - start);
        }

        int coverBytes() {
            return (int) (end - start);
        }

        /** The covering blocks plus room to read the partial first and last block into. */
        int readModifyWriteBytes() {
            return coverBytes() + 2 * block;
        }

        long startSector() {
            return start >>> Bio.SECTOR_SHIFT;
        }

        /** The whole blocks inside the request (empty when start >= end). */
        long innerStart() {
            return (offset + block - 1) & -(long) block;
        }

        long innerEnd() {
            return (offset + length) & -(long) block;
        }
    }

    /** The covering blocks of {@code length} bytes at {@code offset} on an export of {@code sizeBytes} with blocks of {@code block}. */
    static Span span(long offset, long length, int block, long sizeBytes) {
        long start = offset & -(long) block;
        long end = Math.min((offset + length + block - 1) & -(long) block, sizeBytes);
        return new Span(offset, length, block, start, end);
    }

    /** Whether {@code length} bytes at {@code offset} are whole blocks of {@code block} (a power of two). */
    static boolean whole(long offset, long length, int block) {
        return ((offset | length) & (block - 1)) == 0;
    }

    /** Zeroes {@code length} bytes of {@code buf} from {@code at}. */
    static void zero(ByteBuffer buf, int at, int length) {
        ByteBuffer window = buf.duplicate().position(at).limit(at + length);
        while (window.hasRemaining()) window.put(ZEROS.duplicate().limit(Math.min(ZEROS.capacity(), window.remaining())));
    }

    private final Registry registry;
    private final long deviceId;
    private int openers; // guarded by registry
    private final AtomicInteger fastWrites = new AtomicInteger();
    /** Holds registered and not released; changed only under this. */
    private volatile int holds;
    private final ArrayDeque<Hold> waiting = new ArrayDeque<>();
    private final List<Hold> running = new ArrayList<>();

    private UnalignedRequests(Registry registry, long deviceId) {
        this.registry = registry;
        this.deviceId = deviceId;
    }

    /** One instance per exported device, shared by the connections that have it open. */
    static final class Registry {
        private final Map<Long, UnalignedRequests> byDevice = new HashMap<>();

        /** The device's instance; give it back with {@link UnalignedRequests#close()}. */
        synchronized UnalignedRequests open(long deviceId) {
            UnalignedRequests u = byDevice.computeIfAbsent(deviceId, id -> new UnalignedRequests(this, id));
            u.openers++;
            return u;
        }

        private synchronized void close(UnalignedRequests u) {
            if (--u.openers == 0) byDevice.remove(u.deviceId);
        }
    }

    /** Gives this connection's share back. */
    void close() {
        registry.close(this);
    }

    /**
     * Runs {@code go} for a write of whole blocks, the export's bytes [start, end): at once while
     * no hold is registered on the export, else once a hold on them is granted. {@code go} gets the
     * hold and must {@link #release} it when its last device I/O has completed.
     */
    void runWrite(long start, long end, Consumer<Hold> go) {
        fastWrites.incrementAndGet();
        if (holds == 0) {
            go.accept(FAST);
            return;
        }
        leaveFast();
        runHolding(start, end, go);
    }

    /**
     * Runs {@code go} once a hold on the export's bytes [start, end) is granted, even while
     * nothing else is held (a read-modify-write); {@code go} releases it as with {@link #runWrite}.
     */
    void runHolding(long start, long end, Consumer<Hold> go) {
        Hold h = new Hold(start, end, go);
        synchronized (this) {
            holds++;
            waiting.add(h);
        }
        dispatch();
    }

    void release(Hold h) {
        if (h == FAST) {
            leaveFast();
            return;
        }
        synchronized (this) {
            running.remove(h);
            holds--;
        }
        dispatch();
    }

    private void leaveFast() {
        if (fastWrites.decrementAndGet() == 0 && holds != 0) dispatch();
    }

    /** Grants, in arrival order, every waiting hold that overlaps nothing running or waiting before it. */
    private void dispatch() {
        List<Hold> granted = new ArrayList<>();
        synchronized (this) {
            if (fastWrites.get() != 0) return; // the last write counted out dispatches again
            List<Hold> blocked = new ArrayList<>();
            for (Iterator<Hold> it = waiting.iterator(); it.hasNext(); ) {
                Hold h = it.next();
                if (h.overlaps(running) || h.overlaps(blocked)) {
                    blocked.add(h);
                } else {
                    it.remove();
                    running.add(h);
                    granted.add(h);
                }
            }
        }
        for (Hold h : granted) start(() -> h.go.accept(h));
    }

    /** Runs {@code r}, or queues it behind the one this thread is running (devices may complete inline). */
    private static void start(Runnable r) {
        ArrayDeque<Runnable> queue = STARTING.get();
        if (queue != null) {
            queue.add(r);
            return;
        }
        queue = new ArrayDeque<>();
        STARTING.set(queue);
        try {
            for (Runnable next = r; next != null; next = queue.poll()) {
                try {
                    next.run();
                } catch (RuntimeException e) {
                    Logger.error(e, "nbd: starting a held write failed");
                }
            }
        } finally {
            STARTING.remove();
        }
    }

    /**
     * The read-modify-write of a span (run while holding it): {@code buf} holds the request's new
     * bytes at {@link Span#head()}; the partial first and last block are read into the room after
     * the covering blocks, their bytes outside the request copied around the new ones, and the
     * covering blocks written with {@code flags}. {@code done} gets the write's outcome, or the
     * first failed read's.
     */
    static void readModifyWrite(Span s, ByteBuffer buf, int flags, Consumer<Bio> submit, Consumer<IoStatus> done) {
        long requestEnd = s.offset() + s.length();
        boolean headPartial = s.offset() > s.start();
        boolean tailPartial = requestEnd < s.end();
        long tailStart = Math.max(s.start(), requestEnd & -(long) s.block());
        boolean oneBlock = headPartial && tailPartial && tailStart == s.start();
        int cover = s.coverBytes();
        int headSlot = cover, tailSlot = oneBlock ? cover : cover + s.block();
        Runnable write = () -> {
            if (headPartial) buf.put(0, buf, headSlot, s.head());
            if (tailPartial) {
                int from = (int) (requestEnd - s.start());
                int slotFrom = (int) (requestEnd - (oneBlock ? s.start() : tailStart));
                buf.put(from, buf, tailSlot + slotFrom, cover - from);
            }
            submit.accept(Bio.write(s.startSector(), buf.slice(0, cover), flags, done));
        };
        List<Bio> reads = new ArrayList<>(2);
        AtomicInteger pending = new AtomicInteger();
        AtomicReference<IoStatus> failure = new AtomicReference<>();
        Consumer<IoStatus> readDone = status -> {
            if (!status.isOk()) failure.compareAndSet(null, status);
            if (pending.decrementAndGet() != 0) return;
            if (failure.get() != null) done.accept(failure.get());
            else write.run();
        };
        if (headPartial) {
            int bytes = (int) (Math.min(s.start() + s.block(), s.end()) - s.start());
            reads.add(Bio.read(s.startSector(), buf.slice(headSlot, bytes), readDone));
        }
        if (tailPartial && !oneBlock) {
            int bytes = (int) (s.end() - tailStart);
            reads.add(Bio.read(tailStart >>> Bio.SECTOR_SHIFT, buf.slice(tailSlot, bytes), readDone));
        }
        if (reads.isEmpty()) {
            write.run();
            return;
        }
        pending.set(reads.size());
        reads.forEach(submit);
    }
}
