package org.ddmapper.core.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetState;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * One mapped device: two table slots, an I/O gate, held requests, openers and events.
 *
 * <p>Locking. Verbs on one device are serialised by {@link #control} (the manager takes it).
 * The I/O path takes no lock: it bumps {@link #inflight}, reads the volatile {@link #blocked}
 * flag and, when open, reads the volatile live table once and routes the request. A suspend
 * sets {@code blocked} first and then waits for {@code inflight} to reach zero; because both are
 * volatile, either a submitter sees {@code blocked} (and parks its request in {@link #held}) or
 * the suspender sees the submitter's increment (and waits for it). {@link #gate} guards the held
 * queue and is what drainers wait on. Targets complete with REQUEUE into the held queue while
 * blocked, and held requests are replayed against whatever table is live at resume.
 *
 * <p>States. {@code suspended} is the operator's (suspend/resume verbs); {@code parkedType} is
 * set while a target type the live table needs is not registered (boot before the target
 * bundle started, or a bundle being updated): the device is blocked either way.
 */
public final class MappedDevice {
    private final DeviceHost host;
    private final long id;
    private volatile String name;
    final ReentrantLock control = new ReentrantLock();
    private final EventLog events = new EventLog();

    private volatile Table live;
    private volatile TableSpec liveSpec;
    private volatile Table inactive;
    private volatile TableSpec inactiveSpec;
    /** State exported by torn-down targets, handed to their rebuilt successors (per index of the live spec). */
    private List<Optional<TargetState>> parkedStates;

    private volatile boolean blocked;
    private volatile boolean removed;
    private volatile String failReason;
    private final AtomicLong inflight = new AtomicLong();
    private final Object gate = new Object();
    private final ArrayDeque<Bio> held = new ArrayDeque<>();
    private boolean suspended;
    private volatile String parkedType;
    /** Why a parked device is still parked although its type is back (its rebuild failed), or null. */
    private volatile String parkReason;
    private long parkedSinceNanos;
    /** When an upgrade's quiesce or a type's departure blocked the I/O that a park then keeps waiting (0: not stopped). */
    private long stoppedSinceNanos;
    /** The bundle ("name version") of the type the live targets were torn down for, while parked for an update. */
    private volatile String parkedFrom;
    /** How long the last park (type going away until rebuilt) held this device's I/O, in ms. */
    private volatile long lastStallMillis;
    /** Set when a type going away tore down a built table (live or inactive): its rebuild is a handover, not a boot. */
    private volatile boolean handedOver;
    /** Whether the live table was torn down by a type going away (its rebuild is announced as BUNDLE_SWAPPED). */
    private boolean liveHandedOver;
    /** True while the core builds tables from this device's handed-over specs (targets see it in their context). */
    private volatile boolean rebuilding;
    /** Why the handed-over inactive table could not be rebuilt (the new version refused it), or null. */
    private volatile String inactiveReason;
    /** Quiesced ahead of a bundle upgrade (blocked, presuspended, drained); the park that follows skips its own drain. */
    private boolean swapQuiesced;
    /** A torn-down live table whose in-flight I/O did not drain when its type went away: destroyed once it has. */
    private volatile Table draining;
    /** How many times a type going away parked the live table (an upgrade tells its own parks from earlier ones). */
    private volatile long swapParks;
    private final AtomicInteger openers = new AtomicInteger();

    MappedDevice(DeviceHost host, long id, String name) {
        this.host = host;
        this.id = id;
        this.name = name;
    }

    public long id() { return id; }

    public String name() { return name; }

    void rename(String newName) { this.name = newName; }

    boolean isRemoved() { return removed; }

    // ------------------------------------------------------------------ I/O path

    /** Starts a request against whatever table is live; waits (held) while blocked. */
    void submit(Bio bio) {
        if (removed) {
            bio.fail(Errno.ENODEV, "device '" + name + "' was removed");
            return;
        }
        inflight.incrementAndGet();
        if (blocked) {
            leave();
            park(bio, false);
            return;
        }
        Table t = live;
        if (t == null) {
            completeEarly(bio, bio.op() == BioOp.FLUSH ? IoStatus.OK
                    : IoStatus.error(bio.op().isWrite() ? Errno.ENOSPC : Errno.EINVAL, "device '" + name + "' has no live table"));
            return;
        }
        t.map(this, bio);
    }

    /**
     * The allocation of a range, asked of the live table's targets. Counted in flight like a
     * request, so a suspend or table swap waits for it and the targets' devices stay open under
     * it; while the device is blocked (suspended, parked) it answers DATA, which is always true,
     * rather than wait.
     */
    List<Extent> allocation(long startSector, long lengthSectors) {
        if (removed) throw new DmException(Errno.ENODEV, "device '" + name + "' was removed");
        inflight.incrementAndGet();
        try {
            if (blocked) {
                Table.checkAllocationRange(startSector, lengthSectors, sizeSectors());
                return List.of(Extent.data(startSector, lengthSectors));
            }
            Table t = live;
            if (t == null) throw new DmException(Errno.EINVAL, "device '" + name + "' has no live table");
            return t.allocation(startSector, lengthSectors);
        } finally {
            leave();
        }
    }

    /** Completes a request the device answers itself (never reached a target). */
    void completeEarly(Bio bio, IoStatus status) {
        bio.complete(status);
        leave();
    }

    /** One request (or all parts of a split one) left the device. */
    void leave() {
        if (inflight.decrementAndGet() == 0 && blocked) {
            synchronized (gate) {
                gate.notifyAll();
            }
        }
    }

    /** A target handed a request back: hold it while blocked, else submit it again shortly. */
    void requeue(Bio bio) {
        park(bio, true);
    }

    private void park(Bio bio, boolean requeued) {
        String reason;
        synchronized (gate) {
            reason = failReason;
            if (blocked && !removed && reason == null) {
                held.addLast(bio);
                return;
            }
        }
        if (removed) bio.fail(Errno.ENODEV, "device '" + name + "' was removed");
        else if (reason != null && blocked) bio.fail(Errno.EIO, reason);
        else if (requeued) host.scheduler().schedule(() -> submit(bio), 1, TimeUnit.MILLISECONDS);
        else submit(bio);
    }

    int heldCount() {
        synchronized (gate) {
            return held.size();
        }
    }

    /** Waits until no request is in flight; false on timeout. */
    private boolean drain(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (gate) {
            while (inflight.get() > 0) {
                long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (leftMillis <= 0) return false;
                try {
                    gate.wait(leftMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    private void block() {
        synchronized (gate) {
            blocked = true;
        }
    }

    /** Opens the gate (unless still suspended or parked) and replays held requests; returns how many. */
    private int unblock() {
        List<Bio> replay;
        synchronized (gate) {
            if (suspended || parkedType != null || removed) return 0;
            blocked = false;
            stoppedSinceNanos = 0; // a stop that ended without a park: the next park's stall starts afresh
            replay = new ArrayList<>(held);
            held.clear();
        }
        for (Bio bio : replay) submit(bio);
        return replay.size();
    }

    /** Blocks new I/O, runs presuspend, drains, runs postsuspend. On a drain timeout undoes all and throws. */
    private void quiesce(boolean noflush) {
        block();
        Table t = live;
        if (t != null) t.presuspend(this, noflush);
        if (!drain(host.drainTimeoutMillis())) {
            if (t != null) t.resumeTargets(this);
            unblock();
            throw new DmException(Errno.ETIMEDOUT, "device '" + name + "': " + inflight.get() + " requests still in flight after "
                    + host.drainTimeoutMillis() + " ms; suspend abandoned");
        }
        if (t != null) t.postsuspend(this);
    }

    // ------------------------------------------------------------------ verbs (caller holds control)

    /** Puts a built table into the inactive slot, destroying what was there. */
    void installInactive(Table table) {
        Table old = inactive;
        inactive = table;
        inactiveSpec = table.spec;
        inactiveReason = null;
        if (old != null) old.destroy(this);
        raise(new EventPayload.TableLoaded(table.spec.size()));
    }

    void clear() {
        Table old = inactive;
        inactiveReason = null;
        if (old == null && inactiveSpec == null) return;
        inactive = null;
        inactiveSpec = null;
        if (old != null) old.destroy(this);
        raise(new EventPayload.TableCleared());
    }

    void suspend(boolean noflush) {
        if (suspended) return;
        if (parkedType == null && !swapQuiesced) quiesce(noflush);
        swapQuiesced = false;
        suspended = true;
        raise(new EventPayload.Suspended(noflush, heldCount()));
    }

    /**
     * Swaps the inactive table in (suspending only for the swap) or resumes the live one. A
     * device parked for a missing type can be resumed onto a newly loaded table.
     */
    void resume() {
        Table next = inactive;
        if (next == null && inactiveSpec != null && parkedType == null)
            throw new DmException(Errno.ENXIO, "the table loaded into '" + name + "' waits for its target type to be registered again");
        if (parkedType != null && next == null)
            throw new DmException(Errno.ENXIO, "device '" + name + "' waits for target type '" + parkedType
                    + "', which is not registered; load a table that does not need it, or start its bundle");
        if (!oldTableDrained())
            throw new DmException(Errno.EBUSY, "device '" + name + "' still has " + inflight.get()
                    + " requests in flight on the targets of its type's previous version; try again when they have completed");
        boolean wasBlocked = suspended || parkedType != null || swapQuiesced;
        if (next == null && !wasBlocked) return;
        if (!wasBlocked) quiesce(true);
        Table check = next != null ? next : live;
        if (check != null) {
            try {
                check.preresume();
            } catch (DmException e) {
                if (!wasBlocked) {
                    if (live != null) live.resumeTargets(this);
                    unblock();
                }
                throw new DmException(e.errno(), "resume of '" + name + "' refused: " + e.getMessage());
            }
        }
        Table old = null;
        if (next != null) {
            old = live;
            live = next;
            liveSpec = next.spec;
            inactive = null;
            inactiveSpec = null;
            synchronized (gate) {
                parkedType = null;
                parkedStates = null;
                parkReason = null;
                failReason = null;
            }
            handedOver = false;
            liveHandedOver = false;
            inactiveReason = null;
        }
        if (live != null) live.resumeTargets(this);
        suspended = false;
        swapQuiesced = false;
        int replayed = unblock();
        if (next != null)
            raise(new EventPayload.TableLive(next.spec.size(), next.sizeSectors));
        raise(new EventPayload.Resumed(replayed));
        if (old != null) old.destroy(this);
    }

    /** Refusals of a remove without force, or null when it may go ahead. */
    String removeRefusal() {
        int open = openers.get();
        if (open > 0) return "device '" + name + "' is open (" + open + (open == 1 ? " opener" : " openers") + ")";
        int h = heldCount();
        if (h > 0) return "device '" + name + "' holds " + h + " requests waiting for a resume";
        return null;
    }

    /**
     * Takes the device down for good: new I/O fails with ENODEV, in-flight I/O drains, held I/O
     * fails with {@code reason}, targets are destroyed. Returns how many held requests failed.
     */
    int teardown(String reason) {
        List<Bio> failed;
        synchronized (gate) {
            removed = true;
            blocked = true;
            failed = new ArrayList<>(held);
            held.clear();
        }
        Table t = live;
        if (!suspended && !swapQuiesced && parkedType == null && t != null) {
            t.presuspend(this, false);
            if (!drain(host.drainTimeoutMillis()))
                Logger.warn("device {}: {} requests still in flight at removal", name, inflight.get());
            t.postsuspend(this);
        }
        for (Bio bio : failed) bio.fail(Errno.ENODEV, reason);
        // requests requeued while draining arrived after the first sweep
        synchronized (gate) {
            failed = new ArrayList<>(held);
            held.clear();
        }
        for (Bio bio : failed) bio.fail(Errno.ENODEV, reason);
        if (t != null) t.destroy(this);
        Table in = inactive;
        if (in != null) in.destroy(this);
        Table old = draining;
        if (old != null) old.destroy(this);
        draining = null;
        live = null;
        inactive = null;
        return failed.size();
    }

    /** Ends the event history (after the REMOVED event was raised). */
    void closeEvents() {
        events.close();
    }

    // ------------------------------------------------------------------ live upgrade and boot (caller holds control)

    /** Installs a table built for the live slot of a device that has none yet (boot, restore). */
    void installLive(Table table) {
        inactive = null;
        live = table;
        liveSpec = table.spec;
    }

    /** Records a live spec whose targets cannot be built yet because {@code type} is missing; I/O waits. */
    void parkLive(TableSpec spec, String type, List<Optional<TargetState>> states) {
        liveSpec = spec;
        parkedStates = states;
        if (parkedType == null) parkedSinceNanos = stoppedSinceNanos != 0 ? stoppedSinceNanos : System.nanoTime(); // stall from the block
        stoppedSinceNanos = 0;
        parkedType = type;
        block();
    }

    /** Puts a rebuilt inactive table back (no event: the slot's content did not change). */
    void restoreInactive(Table table) {
        inactive = table;
        inactiveSpec = table.spec;
        inactiveReason = null;
        if (parkedType == null) handedOver = false;
    }

    void parkedBecause(String reason) { parkReason = reason; }

    /** Records an inactive spec to build once the device's types are there (restore). */
    void parkInactive(TableSpec spec) {
        inactiveSpec = spec;
    }

    /**
     * Parking, because a type the live (or inactive) targets use is going away: the targets are torn
     * down, the specs kept to rebuild from, I/O waits. First half: blocks new I/O and runs presuspend
     * (noflush) if the live table uses {@code type}, without waiting for what is in flight. Returns
     * false when the device does not use the type; else {@link #finishParkFor} must follow under the
     * same control lock. The core stops every device of a wave (no stacking among them) before it
     * finishes any, so their in-flight I/O drains at the same time rather than device by device.
     */
    boolean stopFor(TargetType type) {
        Table t = live;
        Table in = inactive;
        boolean usesLive = t != null && t.uses(type);
        if (!usesLive && !(in != null && in.uses(type))) return false;
        if (usesLive && !suspended && !swapQuiesced && parkedType == null) {
            stoppedSinceNanos = System.nanoTime();
            block();
            t.presuspend(this, true);
        }
        return true;
    }

    /** The second half of parking (after {@link #stopFor}): drains, exports the targets' state, tears them down and parks. */
    void finishParkFor(TargetType type, String fromBundle) {
        String typeName = type.name();
        Table t = live;
        Table in = inactive;
        boolean usesLive = t != null && t.uses(type);
        boolean usesInactive = in != null && in.uses(type);
        handedOver = true;
        if (usesInactive) {
            in.destroy(this);
            inactive = null; // the spec stays: it is rebuilt with the live one
        }
        if (usesLive) {
            boolean drained = true;
            if (!suspended && !swapQuiesced && parkedType == null) { // stopFor blocked it and ran presuspend
                drained = drain(host.drainTimeoutMillis());
                t.postsuspend(this);
            }
            swapQuiesced = false;
            List<Optional<TargetState>> states = t.exportStates(this);
            if (parkedType == null) parkedFrom = fromBundle;
            liveHandedOver = true;
            swapParks++;
            live = null;
            parkLive(t.spec, typeName, states);
            if (drained) {
                t.destroy(this);
            } else {
                // never error I/O in flight: the old targets live on until it completes, and the rebuild waits for that
                Logger.warn("device {}: {} requests still in flight while target type {} goes away; its old targets are kept"
                        + " until they complete, and the device is rebuilt after that", name, inflight.get(), typeName);
                draining = t;
            }
            raise(new EventPayload.TargetTypeMissing(typeName, ""));
        }
    }

    /** Spec of a slot whose targets are not built (live when parked, inactive after a park), or null. */
    TableSpec unbuiltLiveSpec() { return live == null ? liveSpec : null; }

    TableSpec unbuiltInactiveSpec() { return inactive == null ? inactiveSpec : null; }

    List<Optional<TargetState>> parkedStates() { return parkedStates; }

    String parkedType() { return parkedType; }

    /** Why a parked device could not be rebuilt although its types are back, or null. */
    String parkReason() { return parkReason; }

    long lastStallMillis() { return lastStallMillis; }

    long parkedMillis() { return parkedType == null ? 0 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - parkedSinceNanos); }

    /**
     * Rebuilt targets for a parked device: preresume, go live, replay held I/O, and (when
     * {@code announce}) raise BUNDLE_SWAPPED naming the bundle and its versions before and after.
     * Throws (staying parked) on a veto.
     */
    void unpark(Table rebuiltLive, Table rebuiltInactive, String toBundle, boolean announce) {
        if (rebuiltLive != null) {
            try {
                rebuiltLive.preresume();
            } catch (DmException e) {
                rebuiltLive.destroy(this);
                if (rebuiltInactive != null) rebuiltInactive.destroy(this);
                throw e;
            }
            live = rebuiltLive;
            liveSpec = rebuiltLive.spec;
            // an operator's suspend stands: the resume hooks run at the operator's resume
            if (!suspended) rebuiltLive.resumeTargets(this);
        }
        if (rebuiltInactive != null) {
            inactive = rebuiltInactive;
            inactiveSpec = rebuiltInactive.spec;
            inactiveReason = null;
        }
        String type = parkedType;
        long stallMillis = parkedMillis();
        String from = parkedFrom;
        boolean swapped = liveHandedOver;
        lastStallMillis = stallMillis;
        liveHandedOver = false;
        if (inactive != null || inactiveSpec == null) handedOver = false;
        parkedFrom = null;
        parkedType = null;
        parkedStates = null;
        parkReason = null;
        synchronized (gate) {
            failReason = null;
        }
        int replayed = unblock();
        if (type != null && swapped && announce) {
            BundleName to = BundleName.parse(toBundle);
            BundleName was = BundleName.parse(from);
            raise(new EventPayload.BundleSwapped(to.symbolicName(), was.symbolicName().equals(to.symbolicName()) ? was.version() : was.text(),
                    to.version(), stallMillis, type, "", replayed));
        } else if (type != null && !swapped && rebuiltLive != null) {
            // a boot or restore: the table goes live as a resume would make it, nothing was swapped
            raise(new EventPayload.TableLive(rebuiltLive.spec.size(), rebuiltLive.sizeSectors));
            if (!suspended) raise(new EventPayload.Resumed(replayed));
        }
    }

    /** Whether the tables being built for this device are handed-over ones (a live upgrade), as targets see it. */
    boolean rebuilding() { return rebuilding; }

    void rebuilding(boolean on) { rebuilding = on; }

    /** Whether a type going away tore down one of this device's built tables that is not rebuilt yet. */
    boolean handedOver() { return handedOver; }

    /** Why the handed-over inactive table could not be rebuilt, or null. */
    String inactiveReason() { return inactiveReason; }

    void inactiveRefused(String reason) { inactiveReason = reason; }

    /**
     * False while the old targets of a park still have I/O in flight (it must complete on them
     * before the rebuilt table takes new I/O); destroys them once it has.
     */
    boolean oldTableDrained() {
        Table old = draining;
        if (old == null) return true;
        if (inflight.get() > 0) return false;
        draining = null;
        old.destroy(this);
        Logger.info("device {}: the I/O in flight on its old targets completed; they are destroyed", name);
        return true;
    }

    boolean holdsUndrainedTable() { return draining != null; }

    long swapParks() { return swapParks; }

    /**
     * Quiesces the device ahead of an upgrade of a type its live table uses, first half: blocks
     * new I/O (it waits, held) and runs presuspend(noflush). Returns false, doing nothing, for a
     * suspended or parked device; else {@link #finishSwapQuiesce} (or {@link #abandonSwapStop})
     * must follow under the same control lock.
     */
    boolean stopForSwap() {
        if (suspended || parkedType != null || swapQuiesced || live == null) return false;
        stoppedSinceNanos = System.nanoTime();
        block();
        live.presuspend(this, true);
        return true;
    }

    /**
     * Second half: drains in-flight I/O until {@code deadlineNanos}, then postsuspend. On a timeout
     * undoes the stop and throws ETIMEDOUT naming the device; nothing else changed.
     */
    void finishSwapQuiesce(long deadlineNanos, long timeoutMillis) {
        Table t = live;
        if (!drain(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())))) {
            long left = inflight.get();
            stoppedSinceNanos = 0;
            t.resumeTargets(this);
            unblock();
            throw new DmException(Errno.ETIMEDOUT, "device '" + name + "' still has " + left + (left == 1 ? " request" : " requests")
                    + " in flight after " + timeoutMillis + " ms");
        }
        t.postsuspend(this);
        swapQuiesced = true;
    }

    /** Undoes a {@link #stopForSwap} that is not finished (another device of its wave did not drain in time). */
    void abandonSwapStop() {
        stoppedSinceNanos = 0;
        Table t = live;
        if (t != null) t.resumeTargets(this);
        unblock();
    }

    /** Undoes {@link #finishSwapQuiesce} when the upgrade did not park the device after all (it failed first). */
    void releaseSwapQuiesce() {
        if (!swapQuiesced) return;
        swapQuiesced = false;
        stoppedSinceNanos = 0;
        Table t = live;
        if (t != null) t.resumeTargets(this);
        unblock();
    }

    /** Fails held and new I/O with {@code reason} until the device is unparked (a type stayed away too long). */
    int failWhileParked(String reason) {
        List<Bio> failed;
        synchronized (gate) {
            if (parkedType == null) return 0;
            failReason = reason;
            failed = new ArrayList<>(held);
            held.clear();
        }
        for (Bio bio : failed) bio.fail(Errno.EIO, reason);
        return failed.size();
    }

    // ------------------------------------------------------------------ queries

    DeviceInfo info() {
        TableSpec ls = liveSpec;
        return new DeviceInfo(id, name, suspended || parkedType != null, openers.get(), events.eventNr(), ls != null,
                inactiveSpec != null, ls == null ? 0 : ls.sizeSectors(), readOnly(), ls == null ? 0 : ls.size(), heldCount(), parkedType);
    }

    /** Whether the live table refuses writes (all its devices are read-only); false without one. */
    boolean readOnly() {
        Table t = live;
        return t != null && t.readOnly();
    }

    /** The live table's logical block in bytes (a sector without one). */
    int logicalBlockBytes() {
        Table t = live;
        return t == null ? Bio.SECTOR_BYTES : t.logicalBlockBytes();
    }

    /** Whether the live table carries out {@code op} natively (true without one: nothing says otherwise). */
    boolean supports(BioOp op) {
        Table t = live;
        return t == null || t.supports(op);
    }

    /** Current size of the live table in sectors (0 without one). */
    long sizeSectors() {
        TableSpec ls = liveSpec;
        return ls == null ? 0 : ls.sizeSectors();
    }

    TableSpec liveSpec() { return liveSpec; }

    TableSpec inactiveSpec() { return inactiveSpec; }

    Table liveTable() { return live; }

    Table inactiveTable() { return inactive; }

    List<TargetStatus> lines(boolean inactiveSlot, StatusType type) {
        Table t = inactiveSlot ? inactive : live;
        TableSpec spec = inactiveSlot ? inactiveSpec : liveSpec;
        List<TargetStatus> out = new ArrayList<>();
        if (spec == null) return out;
        for (int i = 0; i < spec.size(); i++) {
            var l = spec.lines().get(i).line();
            String text;
            if (t == null) {
                String why = parkReason;
                String failing = failReason;
                text = type == StatusType.TABLE ? l.argsText() : failing != null ? failing
                        : "waiting for target type '" + parkedTypeOr(l.type()) + "'" + (why == null ? "" : " (" + why + ")");
            } else {
                try {
                    text = t.targets[i].status(type);
                } catch (RuntimeException e) {
                    Logger.warn(e, "device {}: target {} ({}) status failed", name, i, l.type());
                    text = "status failed: " + e;
                }
            }
            out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), text == null ? "" : text));
        }
        return out;
    }

    private String parkedTypeOr(String fallback) {
        String p = parkedType;
        return p == null ? fallback : p;
    }

    List<String> deps() {
        Table t = live;
        return t == null ? List.of() : t.deps();
    }

    /** Longest message accepted, in characters over all words. */
    static final int MAX_MESSAGE_CHARS = 64 * 1024;

    String message(TargetRef ref, Message message) {
        checkMessage(message);
        Table t = live;
        if (t == null) throw new DmException(Errno.ENXIO, parkedType != null
                ? "device '" + name + "' waits for target type '" + parkedType + "'" : "device '" + name + "' has no live table");
        int index;
        if (ref instanceof TargetRef.ByIndex bi) {
            index = bi.index();
            if (index >= t.targets.length)
                throw new DmException(Errno.EINVAL, "device '" + name + "' has no target @" + index + " (it has " + t.targets.length + ")");
        } else {
            long sector = ((TargetRef.BySector) ref).sector();
            if (sector >= t.sizeSectors)
                throw new DmException(Errno.EINVAL, "sector " + sector + " lies beyond device '" + name + "' (" + t.sizeSectors + " sectors)");
            index = t.indexOf(sector);
        }
        String type = t.types[index].name();
        if (!t.types[index].features().contains(TargetFeature.MESSAGES))
            throw new DmException(Errno.EINVAL, "target " + index + " (" + type + ") of device '" + name + "' takes no messages");
        try {
            String reply = t.targets[index].message(message);
            return reply == null ? "" : reply;
        } catch (DmException e) {
            String text = String.valueOf(e.getMessage());
            throw new DmException(e.errno(), text.startsWith(type + ": ") ? text : type + ": " + text);
        } catch (RuntimeException e) {
            Logger.warn(e, "device {}: target {} ({}) failed on message {}", name, index, type, message.verb());
            throw new DmException(Errno.EIO, type + ": message '" + message.verb() + "' failed: " + e);
        }
    }

    /** Refuses empty, over-long and control-character messages (a newline must not smuggle a second command). */
    private static void checkMessage(Message message) {
        if (message.words().isEmpty() || message.verb().isEmpty()) throw new DmException(Errno.EINVAL, "empty message");
        int chars = 0;
        for (String w : message.words()) {
            chars += w.length();
            if (chars > MAX_MESSAGE_CHARS) throw new DmException(Errno.EINVAL, "message longer than " + MAX_MESSAGE_CHARS + " characters");
            for (int i = 0; i < w.length(); i++) {
                char c = w.charAt(i);
                if (Character.isISOControl(c))
                    throw new DmException(Errno.EINVAL, "control character 0x" + Integer.toHexString(c) + " in message");
            }
        }
    }

    // ------------------------------------------------------------------ events and openers

    /** Records a core event (target index -1) and delivers it. */
    DeviceEvent raise(EventPayload payload) { return raise(payload, -1); }

    /** Records an event of target {@code targetIndex} (-1: the core's) and delivers it. */
    DeviceEvent raise(EventPayload payload, int targetIndex) {
        DeviceEvent event = events.record(name, id, payload, targetIndex);
        host.deliver(this, event);
        return event;
    }

    long eventNr() { return events.eventNr(); }

    long awaitEvent(long after, long timeoutMillis) throws InterruptedException {
        return events.await(after, timeoutMillis);
    }

    List<DeviceEvent> events(long after) { return events.since(after); }

    /** A new opener handle, counted until closed. */
    OpenHandle open(String reference) {
        if (removed) throw new DmException(Errno.ENXIO, "device '" + name + "' was removed");
        openers.incrementAndGet();
        return new OpenHandle(this, reference);
    }

    void closed() { openers.decrementAndGet(); }

    int openCount() { return openers.get(); }

    @Override
    public String toString() { return name + "#" + id; }
}
