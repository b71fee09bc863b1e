package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.spi.DeviceArea;

/**
 * The legs of one mirror and what has gone wrong with each: the kernel's error types (write,
 * flush, sync, read), which leg is the default (the copy source, and the only one read where the
 * legs differ), which legs are out of the mirror, and which legs are stale (they missed writes, so
 * no copy may come from them).
 *
 * <p>With {@code handle_errors}, a leg that fails a write, flush or copy is out: it gets no more
 * I/O until a table names it again. Without it (the kernel's default) a failing leg stays in and
 * keeps getting writes; only reads avoid it. A read error never puts a leg out: its data is still
 * in sync, reads just prefer the others. Leg state is read lock-free on the I/O path (volatile
 * fields) and changed under this object's monitor.
 */
final class Legs {
    /** The kernel's dm_raid1_error kinds, in the order status reports them. */
    enum Failure {
        FLUSH('F'), WRITE('D'), SYNC('S'), READ('R');

        final char code;

        Failure(char code) { this.code = code; }

        int bit() { return 1 << ordinal(); }
    }

    /** One leg. */
    static final class Leg {
        final int index;
        final String reference;
        /** Where the leg maps; null when its device could not be opened (a live upgrade under a dead leg). */
        final DeviceArea area;
        final long hash;
        final AtomicLong inFlightBytes = new AtomicLong();
        volatile int failures;
        volatile boolean out;

        Leg(int index, String reference, DeviceArea area) {
            this.index = index;
            this.reference = reference;
            this.area = area;
            this.hash = DiskLogFormat.legHash(reference);
            this.out = area == null;
            if (area == null) failures = Failure.WRITE.bit();
        }

        boolean hasFailed() { return failures != 0; }

        /** The kernel's device_status_char. */
        char statusChar() {
            int f = failures;
            if (f == 0) return 'A';
            for (Failure kind : Failure.values()) if ((f & kind.bit()) != 0) return kind.code;
            return 'U';
        }
    }

    private final Leg[] legs;
    private final boolean handleErrors;
    private volatile int defaultLeg;
    /** Legs stale since before this table: listed in the log's record and not yet copied to. */
    private final List<Long> staleFromLog = new ArrayList<>();
    /** Bumped whenever the set of stale legs changes, so the log writes the record again. */
    private volatile long staleVersion;
    private final AtomicInteger rotor = new AtomicInteger();

    Legs(List<Leg> legs, boolean handleErrors) {
        this.legs = legs.toArray(Leg[]::new);
        this.handleErrors = handleErrors;
        chooseDefault();
    }

    int count() { return legs.length; }

    Leg get(int i) { return legs[i]; }

    boolean handleErrors() { return handleErrors; }

    Leg defaultLeg() { return legs[defaultLeg]; }

    /** The legs that get writes: every leg not out (all of them that opened, without handle_errors). */
    List<Leg> writeTargets() {
        List<Leg> out = new ArrayList<>(legs.length);
        for (Leg l : legs) if (!l.out) out.add(l);
        return out;
    }

    boolean anyOut() {
        for (Leg l : legs) if (l.out) return true;
        return false;
    }

    /**
     * Where a read goes. In a region in sync among the live legs: the live leg with the fewest
     * bytes in flight among those without errors (rotating on ties), else one with read errors
     * only. In a region out of sync only the default leg holds the data, so it is tried whatever
     * happened to it before. Legs in {@code tried} are skipped. Null: no leg left to try.
     */
    Leg readLeg(boolean inSync, List<Leg> tried) {
        if (!inSync) {
            Leg d = legs[defaultLeg];
            return d.area == null || tried.contains(d) ? null : d;
        }
        int start = Math.floorMod(rotor.getAndIncrement(), legs.length);
        for (int pass = 0; pass < 2; pass++) {
            Leg best = null;
            long bestBytes = Long.MAX_VALUE;
            for (int k = 0; k < legs.length; k++) {
                Leg l = legs[(start + k) % legs.length];
                if (l.out || l.area == null || tried.contains(l)) continue;
                int f = l.failures;
                if (pass == 0 ? f != 0 : (f & ~Failure.READ.bit()) != 0) continue;
                long bytes = l.inFlightBytes.get();
                if (bytes < bestBytes) {
                    best = l;
                    bestBytes = bytes;
                }
            }
            if (best != null) return best;
        }
        return null;
    }

    /**
     * Records a failure of {@code leg}. Returns true when this kind of failure is new for the leg
     * (the kernel raises an event only then, and only with handle_errors). With handle_errors, a
     * write, flush or copy failure puts the leg out. A default leg that fails a write, flush or copy
     * hands over to the first leg in the mirror without such a failure when {@code liveLegsAgree}
     * (every region was in sync on the live legs, so that leg holds everything the default held):
     * reads of the regions the failure leaves out of sync, and their copies, then come from a leg
     * that has the data. (The kernel keeps the failed default without handle_errors, and reads and
     * copies those regions from it.) When the live legs did not agree, the default stays: it alone
     * held some regions.
     */
    synchronized boolean failed(Leg leg, Failure kind, boolean liveLegsAgree) {
        boolean first = (leg.failures & kind.bit()) == 0;
        leg.failures |= kind.bit();
        if (kind == Failure.READ) return first;
        if (handleErrors && !leg.out) {
            leg.out = true;
            staleVersion++;
        }
        if (leg.index == defaultLeg && liveLegsAgree) {
            for (Leg l : legs) {
                if (!l.out && l.area != null && (l.failures & ~Failure.READ.bit()) == 0) {
                    defaultLeg = l.index;
                    break;
                }
            }
        }
        return first;
    }

    /** Takes the log's stale-leg record: those legs are never the copy source until a full resync. */
    synchronized void staleFromLog(List<Long> hashes) {
        staleFromLog.clear();
        staleFromLog.addAll(hashes);
        chooseDefault();
        staleVersion++;
    }

    /** A complete resync with every leg in: no leg is stale any more, and the error marks go (the kernel's reset_ms_flags). */
    synchronized void allInSync() {
        if (!staleFromLog.isEmpty()) {
            staleFromLog.clear();
            staleVersion++;
        }
        for (Leg l : legs) if (!l.out) l.failures = 0;
    }

    /** The hashes of the stale legs, for the log's record: those out of the mirror and those the log listed. */
    synchronized List<Long> staleHashes() {
        List<Long> out = new ArrayList<>();
        for (Leg l : legs) if (l.out && !out.contains(l.hash)) out.add(l.hash);
        for (long h : staleFromLog) if (!out.contains(h)) out.add(h);
        return out;
    }

    long staleVersion() { return staleVersion; }

    /** The first leg that opened and is not stale, else the first that opened. */
    private void chooseDefault() {
        int pick = -1;
        for (Leg l : legs) {
            if (l.area != null && !l.out && !staleFromLog.contains(l.hash)) {
                pick = l.index;
                break;
            }
        }
        if (pick < 0) for (Leg l : legs) if (l.area != null) { pick = l.index; break; }
        defaultLeg = Math.max(0, pick);
    }

    /** Takes a predecessor's leg state (a live upgrade); a leg that did not open stays out. */
    synchronized void restore(int[] failures, boolean[] out, int defaultIndex, List<Long> stale) {
        for (int i = 0; i < legs.length; i++) {
            legs[i].failures |= failures[i];
            legs[i].out |= out[i];
        }
        staleFromLog.clear();
        staleFromLog.addAll(stale);
        if (defaultIndex >= 0 && defaultIndex < legs.length) defaultLeg = defaultIndex;
        staleVersion++;
    }

    synchronized List<Long> staleFromLogHashes() { return List.copyOf(staleFromLog); }

    /** Status: one character per leg. */
    String statusChars() {
        StringBuilder sb = new StringBuilder(legs.length);
        for (Leg l : legs) sb.append(l.statusChar());
        return sb.toString();
    }
}
