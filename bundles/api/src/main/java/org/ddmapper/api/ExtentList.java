package org.ddmapper.api;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds an allocation answer ({@link BlockDevice#allocation}) for a range: runs appended in order
 * from the range's start, adjacent runs of one kind merged, nothing past the range's end, and at
 * most {@link #MAX_RUNS} runs — so the work per query is bounded, and an answer may stop short
 * of the range's end (the caller asks again from {@link #endSector()}).
 */
public final class ExtentList {
    /** Most runs in one answer. */
    public static final int MAX_RUNS = 256;

    private final List<Extent> runs = new ArrayList<>();
    private final long startSector;
    private final long limitSector;
    private long endSector;
    private boolean full;

    /** An empty answer for {@code [startSector, startSector + lengthSectors)}. */
    public ExtentList(long startSector, long lengthSectors) {
        if (startSector < 0 || lengthSectors <= 0 || startSector + lengthSectors < startSector)
            throw new IllegalArgumentException("range " + startSector + "+" + lengthSectors);
        this.startSector = startSector;
        this.limitSector = startSector + lengthSectors;
        this.endSector = startSector;
    }

    /**
     * Appends a run of {@code lengthSectors} from {@link #endSector()} (clipped to the range).
     * Returns whether more may be appended: false once the range is covered or the runs are full.
     */
    public boolean add(long lengthSectors, Extent.Kind kind) {
        long length = Math.min(lengthSectors, limitSector - endSector);
        if (full || length <= 0) return more();
        int last = runs.size() - 1;
        if (last >= 0 && runs.get(last).kind() == kind) {
            Extent prev = runs.get(last);
            runs.set(last, new Extent(prev.startSector(), prev.lengthSectors() + length, kind));
        } else if (runs.size() == MAX_RUNS) {
            full = true;
            return false;
        } else {
            runs.add(new Extent(endSector, length, kind));
        }
        endSector += length;
        return more();
    }

    /**
     * Appends another answer's runs in order from {@link #endSector()}: their lengths and kinds
     * count, not their start sectors, so a layer appends what a device below answered at its own
     * offset. Returns whether more may be appended; false too for an empty answer (no progress).
     */
    public boolean addAll(List<Extent> answer) {
        if (answer.isEmpty()) return false;
        for (Extent e : answer) if (!add(e.lengthSectors(), e.kind())) return false;
        return true;
    }

    /** The first sector not answered yet. */
    public long endSector() { return endSector; }

    /** The runs so far (at least one once anything was appended). */
    public List<Extent> toList() {
        if (runs.isEmpty()) throw new IllegalStateException("no run answers " + startSector + "+" + (limitSector - startSector));
        return List.copyOf(runs);
    }

    private boolean more() { return !full && endSector < limitSector; }
}
