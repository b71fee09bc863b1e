package org.ddmapper.targets.fault.logwrites;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * Writes entries to the log device one after the other, in the order they are appended (the
 * kernel's log kthread): the entry block and its data at the next free position, then, after a
 * FUA or MARK entry, the super with the count so far. Positions and the count advance as the
 * kernel's do (next_sector starts one block in, each entry takes one block plus its data blocks),
 * so the same I/O gives the same bytes. Running out of log space or a failed log write disables
 * logging for good (INFO shows {@code logging_disabled}); entries still queued are dropped.
 *
 * <p>No thread of its own: each write's completion starts the next (a work-in-progress counter
 * turns completions that arrive on the caller's stack into loop turns, not recursion).
 */
final class LogWriter {
    private final BlockDevice log;
    private final int blockBytes;
    private final long blockSectors;
    private final AtomicLong heldBytes;
    private final AtomicInteger wip = new AtomicInteger();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Next free position on the log device, in 512-byte sectors (guarded by this). */
    private long nextSector;
    /** Entries written or being written (guarded by this). */
    private long entries;
    private boolean writing;
    private volatile String disabled;

    /** @param heldBytes the target's count of copied bytes held in memory; decreased as entries are written or dropped */
    LogWriter(BlockDevice log, int blockBytes, AtomicLong heldBytes) {
        this.log = log;
        this.blockBytes = blockBytes;
        this.blockSectors = blockBytes / Bio.SECTOR_BYTES;
        this.heldBytes = heldBytes;
        this.nextSector = blockSectors;
    }

    /** Queues entries to be written in this order. */
    void append(List<Pending> pending) {
        synchronized (this) {
            queue.addAll(pending);
        }
        kick();
    }

    /** Stops logging; {@code why} is logged once. Entries still queued are dropped. */
    void disable(String why) {
        synchronized (this) {
            if (disabled != null) return;
            disabled = why;
        }
        Logger.warn("log-writes on {}: logging disabled: {}", log.reference(), why);
        kick();
    }

    boolean enabled() { return disabled == null; }

    synchronized long entries() { return entries; }

    /** The last sector in use on the log device (the kernel's next_sector - 1). */
    synchronized long lastSector() { return nextSector - 1; }

    /** Waits until nothing is queued or being written; false when {@code timeoutMillis} passed first. */
    synchronized boolean awaitIdle(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (writing || !queue.isEmpty()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) return false;
            wait(left);
        }
        return true;
    }

    private void kick() {
        if (wip.getAndIncrement() != 0) return;
        do {
            step();
        } while (wip.decrementAndGet() != 0);
    }

    /** Starts the next entry's write, if none is under way. */
    private void step() {
        Pending p;
        long at;
        long count;
        synchronized (this) {
            while (true) {
                if (writing) return;
                p = queue.poll();
                if (p == null) {
                    notifyAll();
                    return;
                }
                if (disabled != null) {
                    heldBytes.addAndGet(-p.heldBytes());
                    continue;
                }
                long need = blockSectors + p.dataBytes() / Bio.SECTOR_BYTES;
                if (nextSector + need >= log.sizeSectors()) {
                    heldBytes.addAndGet(-p.heldBytes());
                    disabled = "ran out of space on the log device (" + log.sizeSectors() + " sectors)";
                    Logger.warn("log-writes on {}: logging disabled: {}", log.reference(), disabled);
                    continue;
                }
                at = nextSector;
                nextSector += need;
                count = ++entries;
                writing = true;
                break;
            }
        }
        Pending entry = p;
        boolean writeSuper = entry.has(LogFormat.FUA) || entry.has(LogFormat.MARK);
        log.submit(Bio.write(at, block(entry), 0, status -> {
            heldBytes.addAndGet(-entry.heldBytes());
            if (status.isOk() && writeSuper) {
                log.submit(Bio.write(0, LogFormat.superBlock(count, blockBytes), 0, this::written));
            } else {
                written(status);
            }
        }));
    }

    private void written(IoStatus status) {
        if (!status.isOk()) disable("a write to the log device failed: " + status);
        synchronized (this) {
            writing = false;
        }
        kick();
    }

    /** The entry block followed by the data (copied, or zeros). */
    private ByteBuffer block(Pending p) {
        long blocks = p.lengthSectors() * Bio.SECTOR_BYTES / blockBytes;
        byte[] mark = p.mark();
        LogFormat.EntryHeader h = new LogFormat.EntryHeader(p.sector() * Bio.SECTOR_BYTES / blockBytes, blocks, p.flags(),
                mark == null ? 0 : mark.length);
        ByteBuffer out = ByteBuffer.allocate((int) (blockBytes + p.dataBytes()));
        out.put(LogFormat.entryBlock(h, mark, blockBytes));
        if (p.data() != null) out.put(p.data().duplicate());
        return out.clear();
    }
}
