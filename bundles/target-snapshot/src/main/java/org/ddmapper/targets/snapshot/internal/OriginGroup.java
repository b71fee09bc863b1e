package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.tinylog.Logger;

/**
 * Everything that concerns one origin device (the kernel's {@code struct origin} and more), across
 * mapped devices: the snapshots of it that are built ({@link #loaded}) and those that are active
 * (origin writes copy out into them), and the gate every write to the origin passes.
 *
 * <p><b>The gate.</b> Each origin write (through a {@code snapshot-origin} or {@code snapshot-merge}
 * target, or a merge copying back) is counted from before it looks for copy-outs until the origin
 * has it. Activating a snapshot freezes the gate, waits for the writes in flight and registers the
 * snapshot (handing a predecessor's exceptions over first), so no write is half seen by the new
 * snapshot — the kernel suspends the origin device internally for this. Writes that arrive while
 * frozen are held and go on when it thaws.
 *
 * <p><b>Awaited snapshots.</b> After a live upgrade the origin's new targets may come back before
 * the snapshots do: the snapshots the old origin knew are awaited, and every origin write is held
 * until they are all back (or given up: see {@code OriginTarget}). Held writes of a target being
 * suspended go back to the core as REQUEUE.
 */
public final class OriginGroup {
    /** How long activating a snapshot waits for origin writes in flight before registering anyway (logged). */
    static final long FREEZE_WAIT_MILLIS = 60_000;

    /** A snapshot the origin's predecessor knew and that has not come back since a live upgrade. */
    public record Awaited(String cowKey, String cowReference, boolean persistent) {}

    /** An origin write that arrived while the gate was shut: {@code redo} tries again. */
    record HeldWrite(Object owner, Runnable redo, Runnable requeue) {}

    final String originKey;
    private volatile List<Snapshot> active = List.of();
    private final List<Snapshot> loaded = new ArrayList<>();
    private final ArrayDeque<HeldWrite> held = new ArrayDeque<>();
    private final Map<String, Awaited> awaited = new LinkedHashMap<>();
    private final Set<String> givenUp = new HashSet<>();
    private int writesInFlight;
    private int frozen;
    private int origins;

    OriginGroup(String originKey) {
        this.originKey = originKey;
    }

    /** The active snapshots (a snapshot of the list; writes look at it once). */
    List<Snapshot> active() { return active; }

    // ------------------------------------------------------------------ building and pairing

    /**
     * A table with snapshot {@code s} was built. Refuses what the kernel refuses: a third table of
     * one COW, a second one waiting for a handover, a second merge.
     */
    synchronized void load(Snapshot s) {
        Snapshot src = null;
        int sharing = 0;
        boolean destWaiting = false;
        for (Snapshot l : loaded) {
            if (!l.cowKey().equals(s.cowKey())) continue;
            sharing++;
            if (l.isActive()) src = l;
            else destWaiting = true;
        }
        if (sharing >= 2 || destWaiting)
            throw new DmException(Errno.EINVAL, "Snapshot cow pairing for exception table handover failed (the COW device '"
                    + s.args.cow().reference() + "' already has " + (destWaiting ? "a table waiting to take it over" : "two tables") + ")");
        if (src != null && s.merging) {
            for (Snapshot l : loaded)
                if (l.merging) throw new DmException(Errno.EINVAL, "A snapshot is already merging. (into this origin, from '"
                        + l.args.cow().reference() + "')");
            if (!src.args.mode().persistent())
                throw new DmException(Errno.EINVAL, "Snapshot exception store does not support snapshot-merge. (the snapshot on '"
                        + s.args.cow().reference() + "' is transient)");
        }
        loaded.add(s);
    }

    /** A table with snapshot {@code s} is gone (destroyed): it takes no more origin writes. */
    synchronized void unload(Snapshot s) {
        loaded.remove(s);
        List<Snapshot> now = new ArrayList<>(active);
        if (now.remove(s)) active = List.copyOf(now);
    }

    /** The active table of the same snapshot (same COW) that {@code s} takes over from, or null. */
    synchronized Snapshot handoverSource(Snapshot s) {
        for (Snapshot l : loaded) if (l != s && l.cowKey().equals(s.cowKey()) && l.isActive()) return l;
        return null;
    }

    /** A built, not yet active table of the same snapshot waiting to take over from {@code s}, or null. */
    synchronized Snapshot waitingSuccessor(Snapshot s) {
        for (Snapshot l : loaded) if (l != s && l.cowKey().equals(s.cowKey()) && !l.isActive()) return l;
        return null;
    }

    synchronized boolean wasGivenUp(String cowKey) { return givenUp.contains(cowKey); }

    // ------------------------------------------------------------------ activation under the frozen gate

    /**
     * Shuts the gate, waits for the origin writes in flight, runs {@code underFreeze} (a handover),
     * makes {@code s} active, opens the gate and lets held writes go.
     */
    void activate(Snapshot s, Runnable underFreeze) {
        synchronized (this) {
            frozen++;
            if (!BoundedWait.until(this, () -> writesInFlight == 0, FREEZE_WAIT_MILLIS))
                Logger.warn("origin {}: {} writes still in flight after {} ms; activating {} anyway", originKey, writesInFlight,
                        FREEZE_WAIT_MILLIS, s);
        }
        List<HeldWrite> release;
        try {
            underFreeze.run();
        } finally {
            synchronized (this) {
                s.active(true);
                List<Snapshot> now = new ArrayList<>(active);
                if (!now.contains(s)) now.add(s);
                active = List.copyOf(now);
                awaited.remove(s.cowKey());
                frozen--;
                release = releasable();
            }
        }
        release.forEach(w -> w.redo().run());
    }

    // ------------------------------------------------------------------ the gate

    /** Counts a write in, or holds it (false) while the gate is frozen or snapshots are awaited. */
    synchronized boolean begin(HeldWrite w) {
        if (frozen > 0 || !awaited.isEmpty()) {
            held.addLast(w);
            return false;
        }
        writesInFlight++;
        return true;
    }

    /** A counted write reached the origin (or failed). */
    synchronized void end() {
        if (--writesInFlight == 0) notifyAll();
    }

    /** Hands the held writes of {@code owner} back to the core (REQUEUE): its target is being suspended. */
    void requeue(Object owner) {
        List<HeldWrite> mine = new ArrayList<>();
        synchronized (this) {
            for (Iterator<HeldWrite> it = held.iterator(); it.hasNext(); ) {
                HeldWrite w = it.next();
                if (w.owner() == owner) {
                    mine.add(w);
                    it.remove();
                }
            }
        }
        mine.forEach(w -> w.requeue().run());
    }

    /** Under the lock: the held writes, if the gate is open now. */
    private List<HeldWrite> releasable() {
        if (frozen > 0 || !awaited.isEmpty() || held.isEmpty()) return List.of();
        List<HeldWrite> out = new ArrayList<>(held);
        held.clear();
        return out;
    }

    // ------------------------------------------------------------------ awaited snapshots (live upgrade)

    /** After a live upgrade: holds origin writes until these snapshots are active again. */
    synchronized void await(Collection<Awaited> snapshots) {
        for (Awaited a : snapshots) {
            boolean back = false;
            for (Snapshot s : active) back |= s.cowKey().equals(a.cowKey());
            if (!back) awaited.put(a.cowKey(), a);
        }
    }

    /** The snapshots still awaited. */
    synchronized List<Awaited> awaited() { return List.copyOf(awaited.values()); }

    /** Stops waiting for {@code gone} (their stores were invalidated) and lets the held writes go. */
    void giveUp(Collection<Awaited> gone) {
        List<HeldWrite> release;
        synchronized (this) {
            for (Awaited a : gone) {
                awaited.remove(a.cowKey());
                givenUp.add(a.cowKey());
            }
            release = releasable();
        }
        release.forEach(w -> w.redo().run());
    }

    // ------------------------------------------------------------------ origins

    synchronized void originAttached() { origins++; }

    synchronized void originDetached() { origins--; }

    /** Whether nothing refers to this group any more. */
    synchronized boolean idle() {
        return loaded.isEmpty() && origins <= 0 && awaited.isEmpty() && held.isEmpty() && writesInFlight == 0 && givenUp.isEmpty();
    }
}
