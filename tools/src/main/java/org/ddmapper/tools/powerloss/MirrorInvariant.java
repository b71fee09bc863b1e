package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.ddmapper.targets.mirror.internal.DiskLogFormat;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyCheck;

/**
 * A two-leg mirror with a {@code disk} log survives a power failure at any moment: for a log of the
 * verifying writer on a mirror laid out on one logged device — leg 0 in sectors
 * {@code [0, legSectors)}, leg 1 after it, the dirty-region log after both. At each crash point:
 * <ul>
 * <li>the log's clean bits cover every region whose legs differ: a region the next resume takes as
 *     clean ({@link DiskLogFormat#cleanOnResume}) holds the same bytes on both legs (else a resync
 *     would skip it, and reads would answer from either leg);</li>
 * <li>every acknowledged-and-flushed write reads back from leg 0, the leg a resync copies from
 *     ({@link VerifyCheck}, the journal prefix the newest mark names).</li>
 * </ul>
 */
public final class MirrorInvariant implements InvariantChecker {
    private final JournalPrefixes journal;
    private final long legSectors;
    private final long regionSectors;
    private long cleanRegionsCompared;

    public MirrorInvariant(Path journal, long legSectors, long regionSectors) {
        if (legSectors <= 0 || regionSectors <= 0) throw new IllegalArgumentException("mirror checker: leg and region sizes must be positive");
        this.journal = new JournalPrefixes(journal);
        this.legSectors = legSectors;
        this.regionSectors = regionSectors;
    }

    @Override
    public String name() { return "mirror"; }

    /** Regions the log called clean, compared leg against leg, over every crash point so far (none: nothing was tested). */
    public long cleanRegionsCompared() { return cleanRegionsCompared; }

    @Override
    public String summary() { return cleanRegionsCompared + " regions the log called clean compared leg against leg"; }

    @Override
    public List<String> check(CrashPoint point, FileChannel image) throws IOException {
        Journal.State state = journal.at(point);
        long regions = (legSectors + regionSectors - 1) / regionSectors;
        long logBytes = Math.max(0, image.size() - 2 * legSectors * 512);
        ByteBuffer log = ByteBuffer.allocate(Math.toIntExact(Math.min(logBytes, 1024 + (regions + 63) / 64 * 8)));
        while (log.hasRemaining() && image.read(log, 2 * legSectors * 512 + log.position()) >= 0) { }
        BitSet clean = DiskLogFormat.cleanOnResume(log.clear(), regions);
        List<String> problems = new ArrayList<>();
        int regionBytes = Math.toIntExact(regionSectors * 512);
        ByteBuffer a = ByteBuffer.allocate(regionBytes), b = ByteBuffer.allocate(regionBytes);
        for (int r = clean.nextSetBit(0); r >= 0; r = clean.nextSetBit(r + 1)) {
            cleanRegionsCompared++;
            long at = r * (long) regionBytes;
            int bytes = (int) Math.min(regionBytes, legSectors * 512 - at);
            readFully(image, a.clear().limit(bytes), at);
            readFully(image, b.clear().limit(bytes), legSectors * 512 + at);
            int differs = a.flip().mismatch(b.flip());
            if (differs >= 0) problems.add("region " + r + ": the log says clean, but the legs differ at byte " + (at + differs));
        }
        ImageReader leg0 = new ImageReader(image);
        problems.addAll(VerifyCheck.check(state, (index, bytes) -> leg0.read(index * bytes, bytes)).violations());
        return problems;
    }

    private static void readFully(FileChannel image, ByteBuffer into, long offset) throws IOException {
        while (into.hasRemaining() && image.read(into, offset + into.position()) >= 0) { }
    }
}
