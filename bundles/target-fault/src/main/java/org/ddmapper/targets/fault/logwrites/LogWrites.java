package org.ddmapper.targets.fault.logwrites;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.tinylog.Logger;

/**
 * The log-writes target: I/O passes to the device at the same sectors, and every write, discard
 * and flush that completed is logged the kernel's way (see {@link LogFormat}): a FUA write as soon
 * as it completes; other writes and discards when a flush that was sent after they completed
 * completes (they were held back until then), followed by that flush's entry; marks when the
 * message comes. So the log is the order data became durable, and replaying a prefix that ends at a
 * flush or FUA entry gives what the device held at that moment. Reads are not logged. Writes are
 * copied when sent (the caller's buffer is theirs again once answered); at most
 * {@link #MAX_HELD_BYTES} of copies wait for a flush, beyond that logging is disabled rather than
 * memory exhausted. A write that fails is not logged (it is not on the device).
 */
final class LogWrites implements Target {
    /** Copied write data held for the log, at most. */
    static final long MAX_HELD_BYTES = 64L << 20;
    /** Mark written when the target is torn down, as the kernel's. */
    static final String END_MARK = "dm-log-writes-end";
    /** How long a teardown or a suspend waits for the log to be written. */
    private static final long DRAIN_MILLIS = 30_000;

    private final BlockDevice device;
    private final BlockDevice logDevice;
    private final int blockBytes;
    private final AtomicLong heldBytes = new AtomicLong();
    private final LogWriter writer;
    /** Writes and discards completed and not yet covered by a flush (guarded by this). */
    private List<Pending> unflushed = new ArrayList<>();

    LogWrites(BlockDevice device, BlockDevice logDevice) {
        this.device = device;
        this.logDevice = logDevice;
        this.blockBytes = device.logicalBlockBytes();
        this.writer = new LogWriter(logDevice, blockBytes, heldBytes);
    }

    @Override
    public void map(Bio bio) {
        switch (bio.op()) {
            case READ -> device.submit(bio);
            case FLUSH -> flush(bio);
            case WRITE, WRITE_ZEROES, DISCARD -> write(bio);
        }
    }

    private void write(Bio bio) {
        if (!writer.enabled()) {
            device.submit(bio);
            return;
        }
        long blockSectors = blockBytes / Bio.SECTOR_BYTES;
        if (bio.sector() % blockSectors != 0 || bio.lengthSectors() % blockSectors != 0) {
            bio.fail(Errno.EINVAL, "log-writes: " + bio + " is not aligned to the device's " + blockBytes + "-byte blocks");
            return;
        }
        Pending p = switch (bio.op()) {
            case WRITE -> Pending.write(bio.sector(), bio.lengthSectors(), copy(bio.data()), bio.isFua());
            case WRITE_ZEROES -> Pending.zeroes(bio.sector(), bio.lengthSectors(), bio.isFua());
            default -> Pending.discard(bio.sector(), bio.lengthSectors());
        };
        if (heldBytes.addAndGet(p.heldBytes()) > MAX_HELD_BYTES) {
            heldBytes.addAndGet(-p.heldBytes());
            writer.disable("more than " + (MAX_HELD_BYTES >> 20) + " MiB of writes wait for a flush");
            device.submit(bio);
            return;
        }
        if (bio.op() == BioOp.DISCARD && !device.supports(BioOp.DISCARD)) {
            completed(p, IoStatus.OK); // the kernel's way: a discard the device cannot do still counts, and is logged
            bio.complete(IoStatus.OK);
            return;
        }
        device.submit(bio.withCompletion(status -> {
            completed(p, status);
            bio.complete(status);
        }));
    }

    /**
     * A write or discard finished: FUA goes to the log now, the rest waits for the next flush. A FUA
     * write first takes what it overwrites out of the writes still waiting (see {@link #supersede}).
     */
    private void completed(Pending p, IoStatus status) {
        if (!status.isOk()) {
            heldBytes.addAndGet(-p.heldBytes());
        } else if (p.has(LogFormat.FUA)) {
            synchronized (this) {
                unflushed = supersede(unflushed, p);
            }
            writer.append(List.of(p));
        } else {
            synchronized (this) {
                unflushed.add(p);
            }
        }
    }

    /** A flush covers what completed before it was sent: logged, then the flush entry, once the device's flush succeeded. */
    private void flush(Bio bio) {
        List<Pending> covered = takeUnflushed();
        device.submit(bio.withCompletion(status -> {
            if (status.isOk()) {
                covered.add(Pending.flush());
                writer.append(covered);
            } else {
                synchronized (this) {
                    covered.addAll(unflushed);
                    unflushed = covered; // not durable: they wait for the next flush
                }
            }
            bio.complete(status);
        }));
    }

    /**
     * The waiting writes without what {@code fua} overwrote. The kernel logs a FUA write when it
     * completes and the writes that completed before it only at the next flush, after it: where they
     * overlap, a replay would put the older data over the FUA write's. Here the overwritten sectors
     * leave the waiting list (a write wholly covered is dropped, one partly covered keeps its other
     * parts), so the log replays to what the device holds. Without such an overlap the log is the
     * kernel's, byte for byte.
     */
    private List<Pending> supersede(List<Pending> waiting, Pending fua) {
        long from = fua.sector(), to = fua.sector() + fua.lengthSectors();
        List<Pending> kept = new ArrayList<>(waiting.size());
        for (Pending q : waiting) {
            long qEnd = q.sector() + q.lengthSectors();
            if (qEnd <= from || q.sector() >= to) {
                kept.add(q);
                continue;
            }
            heldBytes.addAndGet(-q.heldBytes());
            if (q.sector() < from) kept.add(part(q, q.sector(), from));
            if (qEnd > to) kept.add(part(q, to, qEnd));
        }
        return kept;
    }

    /** The sectors {@code [from, to)} of a waiting write or discard (its data sliced, counted as held again). */
    private Pending part(Pending q, long from, long to) {
        ByteBuffer data = null;
        if (q.data() != null) {
            data = q.data().duplicate();
            data.position((int) ((from - q.sector()) * Bio.SECTOR_BYTES)).limit((int) ((to - q.sector()) * Bio.SECTOR_BYTES));
            data = data.slice();
        }
        Pending p = new Pending(q.flags(), from, to - from, data, null);
        heldBytes.addAndGet(p.heldBytes());
        return p;
    }

    private synchronized List<Pending> takeUnflushed() {
        List<Pending> taken = unflushed;
        unflushed = new ArrayList<>();
        return taken;
    }

    private static ByteBuffer copy(ByteBuffer data) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data).flip();
        return copy;
    }

    @Override
    public String message(Message message) {
        List<String> words = message.words();
        if (words.size() != 2 || !words.get(0).toLowerCase(Locale.ROOT).equals("mark"))
            throw new DmException(Errno.EINVAL, "log-writes: expected 'mark <text>', got "
                    + (words.isEmpty() ? "nothing" : "'" + String.join(" ", words.stream().map(TableLine::escape).toList()) + "'"));
        mark(words.get(1));
        return "";
    }

    /** Queues a mark (its text cut to what one block holds, as the kernel's). */
    private void mark(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        writer.append(List.of(Pending.mark(Arrays.copyOf(bytes, Math.min(bytes.length, LogFormat.maxMarkBytes(blockBytes))))));
    }

    /** Once suspended, the log holds every entry queued so far (so it can be read). */
    @Override
    public void postsuspend() {
        drain("suspend");
    }

    /** Logs what waited for a flush and the end mark, and waits for the log to be written. */
    @Override
    public void destroy() {
        writer.append(takeUnflushed());
        mark(END_MARK);
        drain("teardown");
    }

    private void drain(String when) {
        try {
            if (!writer.awaitIdle(DRAIN_MILLIS))
                Logger.warn("log-writes on {}: the log was not written within {} ms of the {}", logDevice.reference(), DRAIN_MILLIS, when);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** INFO: {@code <logged entries> <last log sector in use>[ logging_disabled]}; TABLE: {@code <dev> <log_dev>}. */
    @Override
    public String status(StatusType type) {
        if (type == StatusType.TABLE) return TableLine.escape(device.reference()) + " " + TableLine.escape(logDevice.reference());
        return writer.entries() + " " + writer.lastSector() + (writer.enabled() ? "" : " logging_disabled");
    }
}
