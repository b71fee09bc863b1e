package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The region table of one mirror (the kernel's dm-region-hash with its dm-log bitmaps): which
 * regions are clean in the log, which are in sync, which have writes in flight or are being
 * copied. Pure state, no I/O; every method runs under this object's monitor.
 *
 * <h2>Three bitmaps</h2>
 * <ul>
 * <li>{@code clean} — the log's bitmap (written to a disk log as it is): the region is in sync on
 *     every leg and no write to it is in flight. A write clears it, durably, before it reaches a leg.
 * <li>{@code syncAll} — the region holds the same data on every leg of the table (the kernel's
 *     sync_bits; the count in status). A write that misses a leg (out of the mirror, or failed)
 *     clears it; only a copy sets it.
 * <li>{@code syncLive} — the region holds the same data on every leg still in the mirror, so a read
 *     may go to any of them; else only the default leg (the copy source) holds it. A failed write
 *     on a leg that stays in the mirror (no {@code handle_errors}) clears it.
 * </ul>
 *
 * <h2>Active regions</h2>
 * A region with writes in flight, being copied, or waiting to be marked clean has an entry: its
 * pending write count, whether it is being copied (writes then wait in {@code delayed} until the
 * copy ends), the log generation its dirty mark goes out with, and a write sequence number that
 * tells the cleaner whether it was written since it was picked. Entries go when the region is
 * marked clean, or is idle and known out of sync (the bitmaps then say everything).
 *
 * <p>A write that finds its region clean while the region before it is active is taken as part
 * of a sequential stream: the clean regions after it (8 MiB of them, at most 64) are marked dirty
 * in the same log write.
 *
 * <h2>Log generations</h2>
 * Dirty marks join the open generation; the log writer takes a snapshot of {@code clean} and closes
 * it ({@link #snapshotForLog}); a write may reach the legs once its regions' generation is durable.
 */
final class Regions {
    /** Bytes of regions a sequential stream marks dirty ahead of itself. */
    static final long MARK_AHEAD_BYTES = 8L << 20;
    /** One active region. */
    static final class Entry {
        int pending;
        boolean recovering;
        /** The log generation whose write makes this region's dirty mark durable (0: durable already). */
        long markedGen;
        /** Bumped by each write; the cleaner cleans only if it did not move during the leg flush. */
        long writeSeq;
        /** Cleaner ticks seen with no write; cleaned once it reaches 1. */
        int idleTicks;
        /** Writes that arrived while the region was being copied, to be mapped again after. */
        List<Runnable> delayed;
    }

    private final long regionShift;
    private final long regionCount;
    private final long lengthSectors;
    private final RegionBits clean;
    private final RegionBits syncAll;
    private final RegionBits syncLive;
    private final Map<Long, Entry> active = new HashMap<>();
    /** How many regions a sequential stream marks dirty ahead of itself ({@link #markAhead}). */
    private final long aheadRegions;
    /** Generation new dirty marks join; generations up to {@code durableGen} are on disk. */
    private long openGen = 1;
    private long durableGen;
    /** Whether {@code clean} changed since the last snapshot, and whether by a dirty mark. */
    private boolean cleanedSinceSnapshot;
    private boolean dirtiedSinceSnapshot;

    Regions(long regionSectors, long lengthSectors) {
        this.regionShift = Long.numberOfTrailingZeros(regionSectors);
        this.lengthSectors = lengthSectors;
        this.regionCount = MirrorTable.regionCount(lengthSectors, regionSectors);
        this.aheadRegions = Math.max(1, Math.min(64, (MARK_AHEAD_BYTES >> 9) / regionSectors));
        this.clean = new RegionBits(regionCount);
        this.syncAll = new RegionBits(regionCount);
        this.syncLive = new RegionBits(regionCount);
    }

    long regionCount() { return regionCount; }

    long regionSectors() { return 1L << regionShift; }

    long lengthSectors() { return lengthSectors; }

    /** Whether every region is in sync among the live legs (so any live leg may become the default). */
    boolean liveLegsAgree() { return syncLive.nextClear(0) < 0; }

    long regionOf(long sector) { return sector >>> regionShift; }

    /** The last region a request {@code [sector, sector + length)} touches (length at least 1). */
    long lastRegion(long sector, long lengthSectors) { return (sector + Math.max(1, lengthSectors) - 1) >>> regionShift; }

    /** Starts from a log's clean bits: in sync where clean, nothing active. */
    synchronized void load(RegionBits loadedClean) {
        clean.copyFrom(loadedClean);
        syncAll.copyFrom(loadedClean);
        syncLive.copyFrom(loadedClean);
        active.clear();
        cleanedSinceSnapshot = false;
        dirtiedSinceSnapshot = true; // the header is written at resume
    }

    /** Starts from handed-over bitmaps (a live upgrade). */
    synchronized void load(RegionBits cleanBits, RegionBits all, RegionBits live) {
        clean.copyFrom(cleanBits);
        syncAll.copyFrom(all);
        syncLive.copyFrom(live);
        active.clear();
    }

    RegionBits cleanBits() { return clean; }

    RegionBits syncAllBits() { return syncAll; }

    RegionBits syncLiveBits() { return syncLive; }

    /** Lock-free: whether every region of {@code [first, last]} may be read from any live leg. */
    boolean readableAnywhere(long first, long last) { return syncLive.allSet(first, last + 1); }

    synchronized long inSyncCount() { return syncAll.count(); }

    synchronized boolean allInSync() { return syncAll.count() == regionCount; }

    /**
     * Admits a write over regions {@code [first, last]}: null when one of them is being copied
     * (then {@code retry} runs once that copy ends), else the log generation that must be durable
     * before the write reaches a leg (0: none).
     */
    synchronized Long beginWrite(long first, long last, Runnable retry) {
        for (long r = first; r <= last; r++) {
            Entry e = active.get(r);
            if (e != null && e.recovering) {
                if (e.delayed == null) e.delayed = new ArrayList<>();
                e.delayed.add(retry);
                return null;
            }
        }
        long need = 0;
        boolean marked = false;
        for (long r = first; r <= last; r++) {
            Entry e = active.computeIfAbsent(r, k -> new Entry());
            e.pending++;
            e.writeSeq++;
            e.idleTicks = 0;
            if (clean.get(r)) {
                markDirty(r, e);
                marked = true;
            }
            if (e.markedGen > durableGen) need = Math.max(need, e.markedGen);
        }
        if (marked && first > 0 && active.containsKey(first - 1)) markAhead(last + 1);
        return need;
    }

    /**
     * A sequential stream (the region before this write's was written recently): marks the next
     * clean regions dirty with this log write, up to {@code aheadRegions}, so the stream needs a
     * log write every few regions instead of one per region. They are marked clean again after a
     * tick or two if the stream does not come.
     */
    private void markAhead(long from) {
        for (long r = from; r < Math.min(regionCount, from + aheadRegions) && clean.get(r) && !active.containsKey(r); r++) {
            Entry e = new Entry();
            active.put(r, e);
            markDirty(r, e);
        }
    }

    private void markDirty(long r, Entry e) {
        clean.clear(r);
        dirtiedSinceSnapshot = true;
        e.markedGen = openGen;
    }

    /**
     * Ends a write: {@code everyLeg} when every leg of the table got it; {@code liveLegsDiffer}
     * when a leg that stays in the mirror failed it. Returns the regions whose copy may now start
     * (they were waiting for their writes to drain).
     */
    synchronized List<Long> endWrite(long first, long last, boolean everyLeg, boolean liveLegsDiffer) {
        List<Long> quiesced = null;
        for (long r = first; r <= last; r++) {
            if (!everyLeg) syncAll.clear(r);
            if (liveLegsDiffer) syncLive.clear(r);
            Entry e = active.get(r);
            if (e == null) continue;
            if (--e.pending == 0 && e.recovering) {
                if (quiesced == null) quiesced = new ArrayList<>();
                quiesced.add(r);
            }
        }
        return quiesced == null ? List.of() : quiesced;
    }

    /** A claimed region for a copy: whether its writes have drained already. */
    record Claim(long region, boolean quiesced) {}

    /**
     * Claims the next region at or after {@code from} that needs a copy — out of sync on every
     * leg of the table ({@code everyLeg}) or only among the live legs — and is not being copied.
     * Its new writes wait from now on. Null when none is left.
     */
    synchronized Claim claimForCopy(long from, boolean everyLeg) {
        RegionBits bits = everyLeg ? syncAll : syncLive;
        for (long r = bits.nextClear(from); r >= 0; r = bits.nextClear(r + 1)) {
            Entry e = active.computeIfAbsent(r, k -> new Entry());
            if (e.recovering) continue;
            e.recovering = true;
            return new Claim(r, e.pending == 0);
        }
        return null;
    }

    /**
     * Ends a copy of region {@code r}: when {@code copied}, it is in sync on the legs the copy
     * reached (every leg: {@code everyLeg}); it is marked clean later by the cleaner. Returns the
     * writes that waited, to be mapped again.
     */
    synchronized List<Runnable> endCopy(long r, boolean copied, boolean everyLeg) {
        if (copied) {
            syncLive.set(r);
            if (everyLeg) syncAll.set(r);
        }
        Entry e = active.get(r);
        if (e == null) return List.of();
        e.recovering = false;
        e.idleTicks = 0;
        List<Runnable> waiting = e.delayed == null ? List.of() : e.delayed;
        e.delayed = null;
        return waiting;
    }

    /** Regions to mark clean once the legs are flushed, each with the write sequence seen now. */
    record Candidate(long region, long writeSeq) {}

    /**
     * A cleaner tick: regions idle since the previous tick (or every idle one, when {@code now}),
     * in sync on every leg, become candidates; idle regions out of sync drop their entry. When
     * {@code mayClean} is false (a leg is out, or the log failed) nothing becomes clean.
     */
    synchronized List<Candidate> cleanCandidates(boolean now, boolean mayClean) {
        List<Candidate> out = new ArrayList<>();
        for (Iterator<Map.Entry<Long, Entry>> it = active.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, Entry> me = it.next();
            Entry e = me.getValue();
            if (e.pending > 0 || e.recovering) continue;
            if (!now && e.idleTicks++ < 1) continue;
            long r = me.getKey();
            if (!syncAll.get(r) || !mayClean) {
                if (e.markedGen <= durableGen) it.remove();
                continue;
            }
            out.add(new Candidate(r, e.writeSeq));
        }
        return out;
    }

    /** After the legs were flushed: marks clean the candidates not written meanwhile; returns how many. */
    synchronized int markClean(List<Candidate> candidates) {
        int n = 0;
        for (Candidate c : candidates) {
            Entry e = active.get(c.region);
            if (e == null || e.pending > 0 || e.recovering || e.writeSeq != c.writeSeq || !syncAll.get(c.region)) continue;
            active.remove(c.region);
            if (!clean.get(c.region)) {
                clean.set(c.region);
                cleanedSinceSnapshot = true;
                n++;
            }
        }
        return n;
    }

    /**
     * Marks every region dirty in the log, leaving what is known in sync as it is: the legs could
     * not be flushed, so no clean mark can be trusted (the kernel's flush_failed).
     */
    synchronized void allDirtyInLog() {
        clean.fill(false);
        dirtiedSinceSnapshot = true;
    }

    /** Marks every region dirty and out of sync (a log that could not be read, or the table's {@code sync}). */
    synchronized void allOutOfSync() {
        clean.fill(false);
        syncAll.fill(false);
        syncLive.fill(false);
        dirtiedSinceSnapshot = true;
    }

    /** Marks every region clean and in sync ({@code nosync}). */
    synchronized void allInSyncNow() {
        clean.fill(true);
        syncAll.fill(true);
        syncLive.fill(true);
    }

    /** Whether the log has changes a write would carry. */
    synchronized boolean logBehind() { return cleanedSinceSnapshot || dirtiedSinceSnapshot; }

    /** A log write's generation (durable once it is on disk) and whether it carries a new dirty mark. */
    record Snapshot(long gen, boolean dirtied) {}

    /** Under the lock: lets {@code writer} copy the clean bits, and closes the open generation. */
    synchronized Snapshot snapshotForLog(java.util.function.Consumer<RegionBits> writer) {
        writer.accept(clean);
        Snapshot s = new Snapshot(openGen, dirtiedSinceSnapshot);
        openGen++;
        cleanedSinceSnapshot = false;
        dirtiedSinceSnapshot = false;
        return s;
    }

    /** The log writer made generation {@code gen} durable. */
    synchronized void durable(long gen) { durableGen = Math.max(durableGen, gen); }

    synchronized long durableGen() { return durableGen; }

    /** Makes every open dirty mark count as durable (a core log, or a failed log that writes go on without). */
    synchronized void everythingDurable() { durableGen = openGen; openGen++; dirtiedSinceSnapshot = false; }
}
