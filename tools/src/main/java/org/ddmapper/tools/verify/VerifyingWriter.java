package org.ddmapper.tools.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;

/**
 * Writes numbered, checksummed blocks ({@link VerifyBlock}) to random indexes of a device, one
 * request at a time, with flushes and FUA writes among them, and journals each acknowledgement
 * ({@link Journal}); at every point where something became durable the journal is fsynced and,
 * when a {@link Marker} is given, a mark naming the journal's length is sent (a log-writes device
 * below then ties its log to the journal). It stops after the given count of operations, or at the
 * first request that fails (the device went away: what it acknowledged before is in the journal).
 */
public final class VerifyingWriter {
    /** How long one request may take before the writer gives up on the device. */
    static final long REQUEST_SECONDS = 60;

    /** Sends a mark below (log-writes' {@code mark} message). */
    public interface Marker {
        void mark(String text) throws IOException;
    }

    /** How a run ended: operations done, writes acknowledged, flushes acknowledged, and why it stopped. */
    public record Outcome(long operations, long writes, long flushes, String stopped) {
        @Override
        public String toString() {
            return operations + " operations, " + writes + " writes and " + flushes + " flushes acknowledged; " + stopped;
        }
    }

    private final BlockDevice device;
    private final long blocks;
    private final int blockBytes;
    private final long run;
    private final Journal journal;
    private final Marker marker;

    public VerifyingWriter(BlockDevice device, long blocks, int blockBytes, long run, Journal journal, Marker marker) {
        this.device = device;
        this.blocks = blocks;
        this.blockBytes = blockBytes;
        this.run = run;
        this.journal = journal;
        this.marker = marker;
    }

    /**
     * Runs {@code operations} operations (or until {@code deadlineNanos}); each is a flush with
     * probability {@code flushChance}, else a write, FUA with probability {@code fuaChance}.
     */
    public Outcome run(long operations, long deadlineNanos, double flushChance, double fuaChance, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        long seq = 0, writes = 0, flushes = 0, done = 0;
        String stopped = "done";
        for (; done < operations && System.nanoTime() < deadlineNanos; done++) {
            if (random.nextDouble() < flushChance) {
                IoStatus s = await(device, Bio::flush);
                if (!s.isOk()) {
                    stopped = "stopped: a flush failed: " + s;
                    break;
                }
                flushes++;
                durable("F " + seq);
            } else {
                long block = random.nextLong(blocks);
                boolean fua = random.nextDouble() < fuaChance;
                long number = ++seq;
                ByteBuffer data = VerifyBlock.encode(run, number, block, blockBytes);
                IoStatus s = await(device, c -> Bio.write(block * (blockBytes / Bio.SECTOR_BYTES), data, fua ? Bio.FUA : 0, c));
                if (!s.isOk()) {
                    stopped = "stopped: write " + number + " failed: " + s;
                    break;
                }
                writes++;
                if (fua) durable("U " + number + " " + block);
                else journal.append("W " + number + " " + block);
            }
        }
        return new Outcome(done, writes, flushes, stopped);
    }

    /** Journals a durability point, fsyncs the journal, then marks the log below with the journal's length. */
    private void durable(String line) throws IOException {
        journal.append(line);
        journal.sync();
        if (marker != null) marker.mark("j" + journal.lines());
    }

    /** Submits one request and waits for its outcome (an error status when the device does not answer in time). */
    public static IoStatus await(BlockDevice device, java.util.function.Function<java.util.function.Consumer<IoStatus>, Bio> request) {
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        try {
            device.submit(request.apply(done::complete));
            return done.get(REQUEST_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            return IoStatus.error(org.ddmapper.api.Errno.ETIMEDOUT, "no answer within " + REQUEST_SECONDS + " s: " + e);
        }
    }
}
