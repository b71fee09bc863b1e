package org.ddmapper.targets.mirror.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * Keeps a mirror's log on its device: group commit of dirty marks, lazy clean marks, and the
 * stale-leg record, one write of the whole image at a time (as the kernel writes header and
 * bitmap as one I/O).
 *
 * <p>A write waits ({@link #whenDurable}) until the log generation holding its regions' dirty
 * marks, and the stale-leg record as of its completion, are on disk. Each cycle snapshots the clean
 * bits (closing the open generation), writes the image and, when it carries a dirty mark or a new
 * record, flushes the log device (the kernel's flush_header); then it releases the waiters it
 * covers and starts another cycle if more is waiting, so every write arriving during a cycle
 * shares the next one. Clean marks only reach this class after the legs were flushed (see
 * {@link Cleaner}), so an image never claims a region clean before its data is durable.
 *
 * <p>A core log ({@code device} null) has nothing to write: everything is durable at once. A
 * failed write makes the log {@link State#FAILED} ('D'), a failed flush {@link State#FLUSH_FAILED}
 * ('F'); from then on the log is not written again, and the mirror's policy decides what waiting
 * and later writes do ({@link #fail}).
 */
final class LogWriter {
    /** The log device's state, as the kernel's disk log status shows it. */
    enum State {
        OK('A'), FAILED('D'), FLUSH_FAILED('F');

        final char code;

        State(char code) { this.code = code; }
    }

    /** What happens to writes once the log has failed (the mirror's policy). */
    enum Policy {
        /** Writes go on with their dirty marks in memory only (the kernel without handle_errors). */
        GO_ON,
        /** Writes are held until the next suspend (handle_errors, block_on_error). */
        HOLD,
        /** Writes fail (keep_log). */
        FAIL
    }

    /** Hears the first failure. */
    interface Listener {
        /** The log failed; returns what to do with the writes. Called once, outside every lock. */
        Policy logFailed(State state, IoStatus cause);
    }

    private record Waiter(long gen, long staleVersion, Consumer<IoStatus> then) {}

    private final Regions regions;
    private final Legs legs;
    private final BlockDevice device;
    private final Executor executor;
    private final Listener listener;
    private final ByteBuffer buffer;
    private final List<Waiter> waiters = new ArrayList<>();
    private volatile State state = State.OK;
    private Policy policy;
    private boolean running;
    private boolean closed;
    private long recordedStaleVersion = -1;

    LogWriter(Regions regions, Legs legs, BlockDevice device, Executor executor, Listener listener) {
        this.regions = regions;
        this.legs = legs;
        this.device = device;
        this.executor = executor;
        this.listener = listener;
        if (device == null) {
            this.buffer = null;
        } else {
            int block = Math.max(Bio.SECTOR_BYTES, device.logicalBlockBytes());
            int bytes = (int) DiskLogFormat.bufferBytes(regions.regionCount(), block);
            this.buffer = ByteBuffer.allocateDirect(bytes + block).alignedSlice(block);
            buffer.limit(bytes);
        }
    }

    boolean isCore() { return device == null; }

    State state() { return state; }

    BlockDevice device() { return device; }

    /**
     * Runs {@code then} with OK once generation {@code gen} and stale-leg record {@code staleVersion}
     * are durable; with the failed log's policy once it has failed: OK (go on), ERROR (fail), or
     * not at all until {@link #releaseHeld} (hold).
     */
    void whenDurable(long gen, long staleVersion, Consumer<IoStatus> then) {
        IoStatus now = null;
        synchronized (this) {
            if (device == null) {
                now = IoStatus.OK;
            } else if (state != State.OK) {
                now = decided();
                if (now == null) waiters.add(new Waiter(gen, staleVersion, then));
            } else if (regions.durableGen() >= gen && recordedStaleVersion >= staleVersion) {
                now = IoStatus.OK;
            } else {
                waiters.add(new Waiter(gen, staleVersion, then));
            }
        }
        if (now != null) then.accept(now);
        else kick();
    }

    /** Asks for a write of the image (after clean marks, or a new stale-leg record). */
    void kick() {
        if (device == null) {
            regions.everythingDurable();
            return;
        }
        synchronized (this) {
            if (running || closed || state != State.OK) return;
            running = true;
        }
        executor.execute(this::cycle);
    }

    /** The target is destroyed (its devices are being closed): no more log writes. */
    synchronized void close() { closed = true; }

    private void cycle() {
        long staleVersion = legs.staleVersion();
        boolean staleChanged;
        synchronized (this) {
            staleChanged = staleVersion != recordedStaleVersion;
            if (state != State.OK || (!regions.logBehind() && waiters.isEmpty() && !staleChanged)) {
                running = false;
                return;
            }
        }
        Regions.Snapshot snap = snapshot();
        boolean flush = snap.dirtied() || staleChanged;
        device.submit(Bio.write(0, buffer.duplicate().clear().limit(buffer.limit()), 0, written -> {
            if (!written.isOk()) {
                executor.execute(() -> fail(State.FAILED, written));
                return;
            }
            if (!flush) {
                executor.execute(() -> cycleDone(snap.gen(), staleVersion));
                return;
            }
            device.submit(Bio.flush(flushed -> executor.execute(
                    () -> { if (flushed.isOk()) cycleDone(snap.gen(), staleVersion); else fail(State.FLUSH_FAILED, flushed); })));
        }));
    }

    private void cycleDone(long gen, long staleVersion) {
        List<Consumer<IoStatus>> go = new ArrayList<>();
        synchronized (this) {
            regions.durable(gen);
            recordedStaleVersion = Math.max(recordedStaleVersion, staleVersion);
            long durable = regions.durableGen();
            for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.gen <= durable && w.staleVersion <= recordedStaleVersion) {
                    go.add(w.then);
                    it.remove();
                }
            }
            running = false;
        }
        go.forEach(c -> c.accept(IoStatus.OK));
        kick();
    }

    /** The log device failed: state, event (through the listener), and the waiting writes per policy. */
    void fail(State failure, IoStatus cause) {
        synchronized (this) {
            if (state != State.OK) return;
            state = failure;
            running = false;
        }
        Policy p = listener.logFailed(failure, cause);
        List<Consumer<IoStatus>> now = new ArrayList<>();
        IoStatus outcome;
        synchronized (this) {
            policy = p;
            outcome = decided();
            if (outcome != null) {
                waiters.forEach(w -> now.add(w.then));
                waiters.clear();
            }
        }
        if (p == Policy.GO_ON) regions.everythingDurable();
        for (Consumer<IoStatus> c : now) c.accept(outcome);
    }

    /** Under the lock, once failed: what a write gets now (null: it is held). */
    private IoStatus decided() {
        if (policy == null || policy == Policy.HOLD) return null;
        return policy == Policy.GO_ON ? IoStatus.OK
                : IoStatus.error(Errno.EIO, "mirror log device '" + device.reference() + "' failed (keep_log)");
    }

    /** Hands every held write its end (a suspend: REQUEUE with noflush, else EIO); returns how many. */
    int releaseHeld(IoStatus outcome) {
        List<Consumer<IoStatus>> held;
        synchronized (this) {
            if (state == State.OK) return 0;
            held = new ArrayList<>();
            waiters.forEach(w -> held.add(w.then));
            waiters.clear();
        }
        held.forEach(c -> c.accept(outcome));
        return held.size();
    }

    /** Waits (bounded) until no cycle runs and nothing waits to be written: the log is as current as it can be. */
    boolean awaitIdle(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            synchronized (this) {
                boolean idle = device == null || state != State.OK
                        || (!running && !regions.logBehind() && waiters.isEmpty() && legs.staleVersion() == recordedStaleVersion);
                if (idle) return true;
            }
            if (System.nanoTime() > deadline) return false;
            kick();
            Thread.sleep(1);
        }
    }

    /** Reads the whole image at resume (blocking, bounded); the buffer keeps it for later writes. */
    IoStatus readImage(long timeoutMillis) {
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        device.submit(Bio.read(0, image(), done::complete));
        return await(done, timeoutMillis, "read");
    }

    /** The image as read or last written, for {@link DiskLogFormat#load}. */
    ByteBuffer image() { return buffer.duplicate().clear().limit(bufferLimit()); }

    private int bufferLimit() {
        return (int) DiskLogFormat.bufferBytes(regions.regionCount(), Math.max(Bio.SECTOR_BYTES, device.logicalBlockBytes()));
    }

    /**
     * Writes the image now and flushes (resume: the header with the table's region count),
     * blocking, bounded; a failure fails the log (D for the write, F for the flush).
     */
    void writeNow(long timeoutMillis) {
        CompletableFuture<State> done = new CompletableFuture<>();
        IoStatus[] cause = new IoStatus[1];
        long staleVersion = legs.staleVersion();
        Regions.Snapshot snap = snapshot();
        device.submit(Bio.write(0, image(), 0, w -> {
            if (!w.isOk()) {
                cause[0] = w;
                done.complete(State.FAILED);
            } else {
                device.submit(Bio.flush(f -> {
                    cause[0] = f;
                    done.complete(f.isOk() ? State.OK : State.FLUSH_FAILED);
                }));
            }
        }));
        State outcome;
        try {
            outcome = done.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            outcome = State.FAILED;
            cause[0] = IoStatus.error(Errno.ETIMEDOUT, "log write at resume did not end within " + timeoutMillis + " ms");
        }
        if (outcome != State.OK) {
            fail(outcome, cause[0]);
            return;
        }
        synchronized (this) {
            regions.durable(snap.gen());
            recordedStaleVersion = staleVersion;
        }
    }

    /** Closes the open generation with a copy of the clean bits and the stale-leg record in the buffer. */
    private Regions.Snapshot snapshot() {
        return regions.snapshotForLog(clean -> DiskLogFormat.store(buffer, regions.regionCount(), legs.staleHashes(), clean));
    }

    private IoStatus await(CompletableFuture<IoStatus> done, long timeoutMillis, String what) {
        try {
            return done.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return IoStatus.error(Errno.ETIMEDOUT, "log " + what + " took longer than " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return IoStatus.error(Errno.ECANCELED, "interrupted waiting for the log " + what);
        } catch (java.util.concurrent.ExecutionException e) {
            return IoStatus.error(Errno.EIO, "log " + what + " failed: " + e.getCause());
        }
    }
}
