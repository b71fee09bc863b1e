package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.ddmapper.targets.fault.logwrites.LogFormat;
import org.ddmapper.targets.fault.logwrites.LogReader;
import org.ddmapper.targets.fault.logwrites.LogReplay;

/**
 * The power-loss replay: rebuilds a device from a log-writes log, entry by entry, and checks every
 * invariant at each moment a power failure could leave it in.
 *
 * <p>In a log-writes log (the kernel's order, see LogFormat) a FUA write is logged when it completes
 * and the other writes and discards that a flush covers are logged together just before the flush's
 * entry. So the image after a FLUSH or FUA entry is exactly what the disk held then: a durability
 * point, checked as it is. Before a flush completes, the writes it is about to cover are in the
 * disk's cache, and a power failure keeps any subset of them: for each such batch (and the writes
 * still waiting at the end of the log), {@code randomPerBatch} random subsets are applied on top of
 * the image before the batch, checked, and undone (the ranges they touched are saved first). FUA
 * writes are never dropped (they were durable when answered), so no state is made up in which a
 * write sent after a FUA completed is on disk and the FUA is not.
 */
public final class PowerLoss {

    /**
     * Where to start and how hard to look. {@code base} is the device before logging began (null: zeros);
     * {@code expectFinal} (or null) the device after it ended, which the whole log must replay to.
     */
    public record Options(Path log, Path base, long deviceSectors, int randomPerBatch, long seed, Path workDir, Path expectFinal) {}

    /** What was checked and what was wrong, each violation naming its crash point. */
    public record Result(long entries, int flushPoints, int fuaPoints, int betweenPoints, List<String> violations) {
        public int points() { return flushPoints + fuaPoints + betweenPoints; }

        @Override
        public String toString() {
            return entries + " log entries; " + points() + " crash points checked (" + flushPoints + " flush, " + fuaPoints + " FUA, "
                    + betweenPoints + " between, unflushed writes dropped); " + violations.size() + " violations";
        }
    }

    private final Options options;
    private final List<InvariantChecker> checkers;
    private final SplittableRandom random;
    private final List<String> violations = new ArrayList<>();
    private int flushPoints, fuaPoints, betweenPoints;
    private String lastMark;

    public PowerLoss(Options options, List<InvariantChecker> checkers) {
        this.options = options;
        this.checkers = List.copyOf(checkers);
        this.random = new SplittableRandom(options.seed());
    }

    public Result run() throws IOException {
        Path image = Files.createTempFile(options.workDir(), "powerloss", ".img");
        try (LogReader log = LogReader.open(options.log())) {
            if (options.base() != null) Files.copy(options.base(), image, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel img = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                img.truncate(options.deviceSectors() * 512);
                if (img.size() < options.deviceSectors() * 512) img.write(ByteBuffer.allocate(1), options.deviceSectors() * 512 - 1);
                List<LogReader.Entry> entries = log.entries();
                LogReplay replay = new LogReplay(log, img, options.deviceSectors());
                List<LogReader.Entry> batch = new ArrayList<>();
                for (LogReader.Entry e : entries) {
                    if (waitsForFlush(e)) {
                        batch.add(e);
                        continue;
                    }
                    finishBatch(log, img, replay, batch, e.index());
                    replay.apply(e);
                    if (e.has(LogFormat.MARK)) lastMark = e.mark();
                    else if (e.has(LogFormat.FUA)) check(img, new CrashPoint(e.index(), CrashPoint.Kind.FUA, lastMark, 0, 0));
                    else if (e.has(LogFormat.FLUSH)) check(img, new CrashPoint(e.index(), CrashPoint.Kind.FLUSH, lastMark, 0, 0));
                }
                finishBatch(log, img, replay, batch, entries.size());
                if (options.expectFinal() != null) compareFinal(img);
            }
            return new Result(log.count(), flushPoints, fuaPoints, betweenPoints, List.copyOf(violations));
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** A write or discard that became durable only with the flush logged after it (not FUA, not a flush or mark). */
    private static boolean waitsForFlush(LogReader.Entry e) {
        return !e.has(LogFormat.FUA) && !e.has(LogFormat.FLUSH) && !e.has(LogFormat.MARK) && e.header().blocks() > 0;
    }

    /** Checks random subsets of the batch on top of the image, then applies all of it. */
    private void finishBatch(LogReader log, FileChannel img, LogReplay replay, List<LogReader.Entry> batch, long before)
            throws IOException {
        if (batch.isEmpty()) return;
        for (int i = 0; i < options.randomPerBatch(); i++) {
            List<LogReader.Entry> kept = new ArrayList<>();
            for (LogReader.Entry e : batch) if (random.nextBoolean()) kept.add(e);
            List<Saved> undo = new ArrayList<>();
            for (LogReader.Entry e : kept) {
                undo.add(Saved.of(img, e));
                replay.apply(e);
            }
            check(img, new CrashPoint(before, CrashPoint.Kind.BETWEEN, lastMark, kept.size(), batch.size() - kept.size()));
            for (int u = undo.size() - 1; u >= 0; u--) undo.get(u).restore(img);
        }
        for (LogReader.Entry e : batch) replay.apply(e);
        batch.clear();
    }

    /** The whole log must replay to the device as it was left: anything else means the log lost or garbled a write. */
    private void compareFinal(FileChannel img) throws IOException {
        try (FileChannel expected = FileChannel.open(options.expectFinal(), StandardOpenOption.READ)) {
            ByteBuffer a = ByteBuffer.allocate(1 << 20), b = ByteBuffer.allocate(1 << 20);
            for (long at = 0; at < options.deviceSectors() * 512; at += a.capacity()) {
                a.clear();
                b.clear();
                img.read(a, at);
                expected.read(b, at);
                a.flip();
                b.flip();
                int differs = a.mismatch(b);
                if (differs >= 0) {
                    violations.add("the whole log replays to something else than " + options.expectFinal() + " (first difference at byte "
                            + (at + differs) + ")");
                    return;
                }
            }
        }
    }

    private void check(FileChannel img, CrashPoint point) throws IOException {
        switch (point.kind()) {
            case FLUSH -> flushPoints++;
            case FUA -> fuaPoints++;
            case BETWEEN -> betweenPoints++;
        }
        for (InvariantChecker c : checkers) {
            for (String problem : c.check(point, img)) violations.add(c.name() + " " + point + ": " + problem);
        }
    }

    /** What a range of the image held before an entry was applied over it. */
    private record Saved(long at, ByteBuffer bytes) {
        static Saved of(FileChannel img, LogReader.Entry e) throws IOException {
            ByteBuffer b = ByteBuffer.allocate((int) (e.lengthSectors() * 512));
            long at = e.sector() * 512;
            while (b.hasRemaining() && img.read(b, at + b.position()) >= 0) { }
            return new Saved(at, b.flip());
        }

        void restore(FileChannel img) throws IOException {
            ByteBuffer b = bytes.duplicate();
            while (b.hasRemaining()) img.write(b, at + b.position());
        }
    }
}
