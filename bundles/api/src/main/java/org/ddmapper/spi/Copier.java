package org.ddmapper.spi;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * The copy engine targets share (the kernel's kcopyd): copies a range of sectors from one device
 * to one or more others — a snapshot's copy-out of an origin chunk into its COW, a mirror's
 * resync of a region from the in-sync leg to the others, a merge back into the origin.
 *
 * <p>A copy is cut into pieces of at most {@link #pieceBytes()}; each piece is read once and
 * written to every destination at once. Bytes in flight are bounded ({@code maxInFlightBytes}
 * over every copy of this copier): a piece that does not fit waits in arrival order, never on a
 * thread, so {@link #copy} may be called from any thread, completions included, and never
 * blocks. An optional rate ({@link #throttle}) spaces the pieces out for background work.
 *
 * <p>The outcome names which side failed: the read, or each destination's writes, so a mirror
 * can mark one leg out of sync and go on. A copy whose read fails writes nothing more. The
 * outcome runs exactly once, on any thread; it must not block.
 */
public final class Copier {

    /** A place to copy to or from: a device and the first sector there. */
    public record Place(BlockDevice device, long sector) {}

    /**
     * How a copy ended: the read's status (the first error, else OK) and each destination's
     * (in the order given; the first error of its pieces, else OK).
     */
    public record Outcome(IoStatus read, List<IoStatus> writes) {
        /** Whether every read and write succeeded. */
        public boolean ok() {
            return read.isOk() && writes.stream().allMatch(IoStatus::isOk);
        }

        /** The first error (read first, then the writes in order), or OK. */
        public IoStatus firstError() {
            if (!read.isOk()) return read;
            return writes.stream().filter(s -> !s.isOk()).findFirst().orElse(IoStatus.OK);
        }
    }

    /** Default piece: large enough for sequential speed, small enough to interleave with foreground I/O. */
    public static final int DEFAULT_PIECE_BYTES = 512 * 1024;
    /** Default bound on the bytes all copies of one copier hold in buffers. */
    public static final int DEFAULT_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

    private final int pieceBytes;
    private final int maxInFlightBytes;
    private final ScheduledExecutorService scheduler;
    private final Deque<Piece> waiting = new ArrayDeque<>();
    private final Deque<ByteBuffer> freeBuffers = new ArrayDeque<>();
    private int inFlightBytes;
    private final RateLimit rate = new RateLimit();
    private boolean starting;
    private boolean lookAgain;

    /** A copier with the default piece size and bound; {@code scheduler} runs throttled pieces. */
    public Copier(ScheduledExecutorService scheduler) {
        this(scheduler, DEFAULT_PIECE_BYTES, DEFAULT_IN_FLIGHT_BYTES);
    }

    public Copier(ScheduledExecutorService scheduler, int pieceBytes, int maxInFlightBytes) {
        if (pieceBytes < Bio.SECTOR_BYTES || pieceBytes % Bio.SECTOR_BYTES != 0)
            throw new IllegalArgumentException("piece size must be a positive multiple of 512 bytes");
        if (maxInFlightBytes < pieceBytes) throw new IllegalArgumentException("in-flight bound below one piece");
        this.scheduler = scheduler;
        this.pieceBytes = pieceBytes;
        this.maxInFlightBytes = maxInFlightBytes;
    }

    public int pieceBytes() { return pieceBytes; }

    /** Limits the copies' read rate to {@code bytesPerSecond} (0: as fast as the devices go). */
    public void throttle(long bytesPerSecond) {
        rate.set(bytesPerSecond);
    }

    /** Bytes currently held by pieces being read or written (for tests and statistics). */
    public synchronized int inFlightBytes() { return inFlightBytes; }

    /**
     * Copies {@code lengthSectors} from {@code from} to every place of {@code to}, writing with
     * {@code writeFlags} (e.g. {@link Bio#FUA}); {@code done} gets the outcome once every piece
     * has ended. A zero length completes at once with OK.
     */
    public void copy(Place from, List<Place> to, long lengthSectors, int writeFlags, Consumer<Outcome> done) {
        if (to.isEmpty()) throw new IllegalArgumentException("a copy needs a destination");
        if (lengthSectors < 0) throw new IllegalArgumentException("negative length");
        long pieceSectors = pieceBytes >> Bio.SECTOR_SHIFT;
        int pieces = (int) Math.max(1, (lengthSectors + pieceSectors - 1) / pieceSectors);
        Job job = new Job(to.size(), lengthSectors == 0 ? 0 : pieces, done);
        if (lengthSectors == 0) {
            job.finish();
            return;
        }
        List<Piece> ready = new ArrayList<>(pieces);
        for (long offset = 0; offset < lengthSectors; offset += pieceSectors) {
            ready.add(new Piece(job, from, to, offset, Math.min(pieceSectors, lengthSectors - offset), writeFlags));
        }
        synchronized (this) {
            waiting.addAll(ready);
        }
        startWaiting();
    }

    /**
     * Starts as many waiting pieces as the bound and the rate allow. One thread at a time runs the
     * loop; a call meanwhile (a piece that ended, maybe inside a submit on this very thread) only
     * asks it to look again, so devices that complete inline cannot nest pieces on the stack.
     */
    private void startWaiting() {
        synchronized (this) {
            if (starting) {
                lookAgain = true;
                return;
            }
            starting = true;
        }
        boolean stopped = false;
        try {
            while (true) {
                Piece piece;
                ByteBuffer buffer;
                long delayNanos;
                synchronized (this) {
                    piece = waiting.peekFirst();
                    if (piece == null || inFlightBytes + pieceBytes > maxInFlightBytes) {
                        if (!lookAgain) {
                            starting = false;
                            stopped = true;
                            return;
                        }
                        lookAgain = false;
                        continue;
                    }
                    waiting.pollFirst();
                    inFlightBytes += pieceBytes;
                    buffer = freeBuffers.isEmpty() ? ByteBuffer.allocateDirect(pieceBytes) : freeBuffers.pollFirst();
                    delayNanos = rate.delayNanos(piece.lengthSectors << Bio.SECTOR_SHIFT);
                }
                ByteBuffer slice = buffer.clear().limit((int) (piece.lengthSectors << Bio.SECTOR_SHIFT)).slice();
                Piece started = piece;
                if (delayNanos > 0) {
                    try {
                        scheduler.schedule(() -> started.read(this, buffer, slice), delayNanos, TimeUnit.NANOSECONDS);
                    } catch (RejectedExecutionException stopping) {
                        started.read(this, buffer, slice); // no scheduler any more: the piece still runs, and ends
                    }
                } else {
                    started.read(this, buffer, slice);
                }
            }
        } finally {
            if (!stopped) {
                synchronized (this) {
                    starting = false;
                }
            }
        }
    }

    private void pieceEnded(ByteBuffer buffer) {
        synchronized (this) {
            inFlightBytes -= pieceBytes;
            if (freeBuffers.size() < maxInFlightBytes / pieceBytes) freeBuffers.addLast(buffer);
        }
        startWaiting();
    }

    /** One copy: counts its pieces down and keeps the first error of each side. */
    private static final class Job {
        private final AtomicInteger pendingPieces;
        private final IoStatus[] writes;
        private final Consumer<Outcome> done;
        private IoStatus read = IoStatus.OK;

        Job(int destinations, int pieces, Consumer<Outcome> done) {
            this.pendingPieces = new AtomicInteger(pieces);
            this.writes = new IoStatus[destinations];
            Arrays.fill(writes, IoStatus.OK);
            this.done = done;
        }

        synchronized void readFailed(IoStatus status) {
            if (read.isOk()) read = status;
        }

        synchronized boolean readHasFailed() {
            return !read.isOk();
        }

        synchronized void writeFailed(int destination, IoStatus status) {
            if (writes[destination].isOk()) writes[destination] = status;
        }

        void pieceDone() {
            if (pendingPieces.decrementAndGet() == 0) finish();
        }

        void finish() {
            Outcome outcome;
            synchronized (this) {
                outcome = new Outcome(read, Collections.unmodifiableList(new ArrayList<>(List.of(writes))));
            }
            done.accept(outcome);
        }
    }

    /** One piece of a copy: a read into a buffer, then a write of it to every destination. */
    private record Piece(Job job, Place from, List<Place> to, long offsetSectors, long lengthSectors, int writeFlags) {

        void read(Copier copier, ByteBuffer buffer, ByteBuffer slice) {
            if (job.readHasFailed()) {
                end(copier, buffer);
                return;
            }
            submit(from.device(), Bio.read(from.sector() + offsetSectors, slice.duplicate(), status -> {
                if (!status.isOk()) {
                    job.readFailed(status);
                    end(copier, buffer);
                } else {
                    write(copier, buffer, slice);
                }
            }));
        }

        private void write(Copier copier, ByteBuffer buffer, ByteBuffer slice) {
            AtomicInteger pendingWrites = new AtomicInteger(to.size());
            for (int i = 0; i < to.size(); i++) {
                int destination = i;
                Place place = to.get(i);
                submit(place.device(), Bio.write(place.sector() + offsetSectors, slice.duplicate(), writeFlags, status -> {
                    if (!status.isOk()) job.writeFailed(destination, status);
                    if (pendingWrites.decrementAndGet() == 0) end(copier, buffer);
                }));
            }
        }

        /** A device that throws instead of completing fails that request, so its piece still ends and gives its bytes back. */
        private static void submit(BlockDevice device, Bio bio) {
            try {
                device.submit(bio);
            } catch (RuntimeException e) {
                bio.fail(Errno.EIO, device.reference() + " failed: " + e);
            }
        }

        private void end(Copier copier, ByteBuffer buffer) {
            copier.pieceEnded(buffer);
            job.pieceDone();
        }
    }
}
