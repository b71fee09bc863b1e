package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.core.internal.Handover.Parked;
import org.ddmapper.core.internal.Handover.Quiesced;
import org.ddmapper.core.internal.Handover.Serving;
import org.ddmapper.core.internal.Handover.Stopped;
import org.ddmapper.spi.StatusType;
import org.tinylog.Logger;

/**
 * One mapped device: two table slots, its {@link IoGate I/O gate}, where it stands as its target
 * types change ({@link Handover}), the operator's suspend, openers and events.
 *
 * <p>Locking. Verbs on one device are serialised by {@link #control} (the manager takes it); the
 * slots, the suspend flag and the handover value change only under it. The I/O path takes no
 * lock: it passes the gate and reads the volatile live table once. Targets complete with REQUEUE
 * into the gate's held queue while it is closed, and held requests are replayed against whatever
 * table is live when it opens.
 *
 * <p>States. The gate is closed while the operator has the device suspended, while it is parked
 * (a target type its live table needs is not registered: boot before the target bundle started,
 * or a bundle being updated) and while an upgrade has it stopped or quiesced.
 */
public final class MappedDevice {
    private final DeviceHost host;
    private final long id;
    private volatile String name;
    final ReentrantLock control = new ReentrantLock();
    private final EventLog events = new EventLog();
    private final AtomicInteger openers = new AtomicInteger();
    final IoGate gate = new IoGate();
    final TableSlots slots = new TableSlots();
    /** I/O statistics: this device's and its underlying devices' (always on, lock-free). */
    final DeviceCounters counters = new DeviceCounters();
    /** The operator's suspend (guarded by control). */
    boolean suspended;
    /** Where the device stands as its types change; replaced whole under control ({@link Parking} drives most of it). */
    volatile Handover handover = Handover.NEW;

    MappedDevice(DeviceHost host, long id, String name) {
        this.host = host;
        this.id = id;
        this.name = name;
    }

    public long id() { return id; }

    public String name() { return name; }

    void rename(String newName) { this.name = newName; }

    public boolean isRemoved() { return gate.removedReason() != null; }

    // ------------------------------------------------------------------ I/O path

    /** Starts a request against whatever table is live; it waits (held) while the gate is closed. */
    void submit(Bio bio) {
        String gone = gate.removedReason();
        if (gone != null) {
            bio.fail(Errno.ENODEV, gone);
            return;
        }
        if (!gate.enter()) {
            hold(bio, false);
            return;
        }
        Table t = slots.live;
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
     * it; while the gate is closed (suspended, parked) it answers DATA, which is always true,
     * rather than wait.
     */
    List<Extent> allocation(long startSector, long lengthSectors) {
        String gone = gate.removedReason();
        if (gone != null) throw new DmException(Errno.ENODEV, gone);
        if (!gate.enter()) {
            Table.checkAllocationRange(startSector, lengthSectors, sizeSectors());
            return List.of(Extent.data(startSector, lengthSectors));
        }
        try {
            Table t = slots.live;
            if (t == null) throw new DmException(Errno.EINVAL, "device '" + name + "' has no live table");
            return t.allocation(startSector, lengthSectors);
        } finally {
            gate.leave();
        }
    }

    /** Completes a request the device answers itself (never reached a target). */
    void completeEarly(Bio bio, IoStatus status) {
        counters.completed(bio, status, DeviceCounters.start());
        bio.complete(status);
        gate.leave();
    }

    /** One request (or all parts of a split one) left the device. */
    void leave() { gate.leave(); }

    /** A target handed a request back: hold it while the gate is closed, else submit it again shortly. */
    void requeue(Bio bio) { hold(bio, true); }

    private void hold(Bio bio, boolean requeued) {
        if (gate.hold(bio)) return;
        if (requeued) host.scheduler().schedule(() -> submit(bio), 1, TimeUnit.MILLISECONDS);
        else submit(bio);
    }

    int heldCount() { return gate.heldCount(); }

    long drainTimeoutMillis() { return host.drainTimeoutMillis(); }

    /** Opens the gate (unless still suspended, parked or removed) and replays what it held; returns how many. */
    int reopen() {
        if (suspended || handover.isParked() || isRemoved()) return 0;
        if (handover.stoppedSinceNanos() != 0) handover = handover.with(new Serving()); // a stop that ended without a park
        List<Bio> replay = gate.open();
        for (Bio bio : replay) submit(bio);
        return replay.size();
    }

    /** Closes the gate, runs presuspend, drains, runs postsuspend. On a drain timeout undoes all and throws. */
    private void quiesce(boolean noflush) {
        gate.close();
        Table t = slots.live;
        if (t != null) t.presuspend(this, noflush);
        if (!gate.drain(host.drainTimeoutMillis())) {
            if (t != null) t.resumeTargets(this);
            reopen();
            throw new DmException(Errno.ETIMEDOUT, "device '" + name + "': " + gate.inflight() + " requests still in flight after "
                    + host.drainTimeoutMillis() + " ms; suspend abandoned");
        }
        if (t != null) t.postsuspend(this);
    }

    // ------------------------------------------------------------------ verbs (caller holds control)

    /** Puts a built table into the inactive slot, destroying what was there. */
    void installInactive(Table table) {
        Table old = slots.load(table);
        handover = handover.inactiveRefusal(null);
        if (old != null) old.destroy(this);
        raise(new EventPayload.TableLoaded(table.spec.size()));
    }

    void clear() {
        Table old = slots.inactive;
        handover = handover.inactiveRefusal(null);
        if (old == null && slots.inactiveSpec == null) return;
        slots.clearInactive();
        if (old != null) old.destroy(this);
        raise(new EventPayload.TableCleared());
    }

    void suspend(boolean noflush) {
        if (suspended) return;
        Handover h = handover;
        if (h.isQuiesced()) handover = h.with(new Stopped(h.stoppedSinceNanos())); // already drained for an upgrade
        else if (!h.isParked()) quiesce(noflush);
        suspended = true;
        raise(new EventPayload.Suspended(noflush, heldCount()));
    }

    /**
     * Swaps the inactive table in (suspending only for the swap) or resumes the live one. A
     * device parked for a missing type can be resumed onto a newly loaded table.
     */
    void resume() {
        Table next = slots.inactive;
        Handover h = handover;
        String parkedType = h.parkedType();
        if (next == null && slots.inactiveSpec != null && parkedType == null)
            throw new DmException(Errno.ENXIO, "the table loaded into '" + name + "' waits for its target type to be registered again");
        if (parkedType != null && next == null)
            throw new DmException(Errno.ENXIO, "device '" + name + "' waits for target type '" + parkedType
                    + "', which is not registered; load a table that does not need it, or start its bundle");
        if (!oldTableDrained())
            throw new DmException(Errno.EBUSY, "device '" + name + "' still has " + gate.inflight()
                    + " requests in flight on the targets of its type's previous version; try again when they have completed");
        boolean wasBlocked = suspended || parkedType != null || h.isQuiesced();
        if (next == null && !wasBlocked) return;
        if (!wasBlocked) quiesce(true);
        Table check = next != null ? next : slots.live;
        if (check != null) {
            try {
                check.preresume();
            } catch (DmException e) {
                if (!wasBlocked) {
                    if (slots.live != null) slots.live.resumeTargets(this);
                    reopen();
                }
                throw new DmException(e.errno(), "resume of '" + name + "' refused: " + e.getMessage());
            }
        }
        Table old = null;
        if (next != null) {
            old = slots.live;
            slots.goLive(next);
            slots.clearInactive();
            gate.stopFailing();
            handover = new Handover(new Serving(), false, null, h.swapParks(), h.lastStallMillis());
        }
        if (slots.live != null) slots.live.resumeTargets(this);
        suspended = false;
        int replayed = reopen();
        if (next != null) raise(new EventPayload.TableLive(next.spec.size(), next.sizeSectors));
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
        List<Bio> failed = gate.remove("device '" + name + "' was removed");
        Table t = slots.live;
        Handover h = handover;
        if (!suspended && !h.isQuiesced() && !h.isParked() && t != null) {
            t.presuspend(this, false);
            if (!gate.drain(host.drainTimeoutMillis()))
                Logger.warn("device {}: {} requests still in flight at removal", name, gate.inflight());
            t.postsuspend(this);
        }
        for (Bio bio : failed) bio.fail(Errno.ENODEV, reason);
        failed = gate.takeHeld(); // requests requeued while draining arrived after the first sweep
        for (Bio bio : failed) bio.fail(Errno.ENODEV, reason);
        if (t != null) t.destroy(this);
        Table in = slots.inactive;
        if (in != null) in.destroy(this);
        Parked p = handover.parked();
        if (p != null && p.draining() != null) {
            p.draining().destroy(this);
            handover = handover.drained();
        }
        slots.live = null;
        slots.inactive = null;
        return failed.size();
    }

    /**
     * False while the old targets of a park still have I/O in flight (it must complete on them
     * before the rebuilt table takes new I/O); destroys them once it has.
     */
    boolean oldTableDrained() {
        Parked p = handover.parked();
        if (p == null || p.draining() == null) return true;
        if (gate.inflight() > 0) return false;
        handover = handover.drained();
        p.draining().destroy(this);
        Logger.info("device {}: the I/O in flight on its old targets completed; they are destroyed", name);
        return true;
    }

    /** Records an inactive spec to build once the device's types are there (restore). */
    void deferInactive(TableSpec spec) { slots.inactiveSpec = spec; }

    /** Ends the event history (after the REMOVED event was raised). */
    void closeEvents() { events.close(); }

    // ------------------------------------------------------------------ an upgrade's quiesce (caller holds control)

    /**
     * Quiesces the device ahead of an upgrade of a type its live table uses, first half: closes the
     * gate (new I/O waits, held) and runs presuspend(noflush). Returns false, doing nothing, for a
     * suspended, parked or already quiesced device; else {@link #finishSwapQuiesce} (or {@link
     * #abandonSwapStop}) must follow under the same control lock.
     */
    public boolean stopForSwap() {
        Handover h = handover;
        if (suspended || h.isParked() || h.isQuiesced() || slots.live == null) return false;
        handover = h.with(new Stopped(System.nanoTime()));
        gate.close();
        slots.live.presuspend(this, true);
        return true;
    }

    /**
     * Second half: drains in-flight I/O until {@code deadlineNanos}, then postsuspend. On a timeout
     * undoes the stop and throws ETIMEDOUT naming the device; nothing else changed.
     */
    public void finishSwapQuiesce(long deadlineNanos, long timeoutMillis) {
        Table t = slots.live;
        if (!gate.drain(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())))) {
            long left = gate.inflight();
            handover = handover.with(new Serving());
            t.resumeTargets(this);
            reopen();
            throw new DmException(Errno.ETIMEDOUT, "device '" + name + "' still has " + left + (left == 1 ? " request" : " requests")
                    + " in flight after " + timeoutMillis + " ms");
        }
        t.postsuspend(this);
        handover = handover.with(new Quiesced(handover.stoppedSinceNanos()));
    }

    /** Undoes a {@link #stopForSwap} that is not finished (another device of its wave did not drain in time). */
    public void abandonSwapStop() {
        handover = handover.with(new Serving());
        Table t = slots.live;
        if (t != null) t.resumeTargets(this);
        reopen();
    }

    /** Undoes {@link #finishSwapQuiesce} when the upgrade did not park the device after all (it failed first). */
    public void releaseSwapQuiesce() {
        if (!handover.isQuiesced()) return;
        abandonSwapStop();
    }

    // ------------------------------------------------------------------ queries

    /** Where the device stands as its types change (a consistent value; read from any thread). */
    Handover handover() { return handover; }

    String parkedType() { return handover.parkedType(); }

    /** Spec of a slot whose targets are not built (live when parked, inactive after a park), or null. */
    TableSpec unbuiltLiveSpec() { return slots.unbuiltLive(); }

    TableSpec unbuiltInactiveSpec() { return slots.unbuiltInactive(); }

    DeviceInfo info() {
        TableSpec ls = slots.liveSpec;
        Handover h = handover;
        return new DeviceInfo(id, name, suspended || h.isParked(), openers.get(), events.eventNr(), ls != null, slots.inactiveSpec != null,
                ls == null ? 0 : ls.sizeSectors(), slots.readOnly(), ls == null ? 0 : ls.size(), heldCount(), h.parkedType());
    }

    boolean readOnly() { return slots.readOnly(); }

    /** The device's I/O statistics now. */
    DeviceStats stats() { return counters.snapshot(name, id, gate.inflight(), deps()); }

    int logicalBlockBytes() { return slots.logicalBlockBytes(); }

    boolean supports(BioOp op) { return slots.supports(op); }

    long sizeSectors() { return slots.sizeSectors(); }

    TableSpec liveSpec() { return slots.liveSpec; }

    TableSpec inactiveSpec() { return slots.inactiveSpec; }

    Table liveTable() { return slots.live; }

    Table inactiveTable() { return slots.inactive; }

    /** The status (INFO) or table (TABLE) lines of a slot; a parked slot says what it waits for. */
    List<TargetStatus> lines(boolean inactiveSlot, StatusType type) {
        Table t = inactiveSlot ? slots.inactive : slots.live;
        TableSpec spec = inactiveSlot ? slots.inactiveSpec : slots.liveSpec;
        List<TargetStatus> out = new ArrayList<>();
        if (spec == null) return out;
        for (int i = 0; i < spec.size(); i++) {
            var l = spec.lines().get(i).line();
            String text = t == null ? waitingLine(l.type(), l.argsText(), type) : t.status(this, i, type);
            out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), text == null ? "" : text));
        }
        return out;
    }

    private String waitingLine(String lineType, String args, StatusType type) {
        if (type == StatusType.TABLE) return args;
        String failing = gate.failingReason();
        if (failing != null) return failing;
        Parked p = handover.parked();
        String why = p == null ? null : p.refusal();
        return "waiting for target type '" + (p == null ? lineType : p.type()) + "'" + (why == null ? "" : " (" + why + ")");
    }

    List<String> deps() { return slots.deps(); }

    String message(TargetRef ref, Message message) {
        TargetMessages.check(message);
        Table t = slots.live;
        String parkedType = handover.parkedType();
        if (t == null) throw new DmException(Errno.ENXIO, parkedType != null
                ? "device '" + name + "' waits for target type '" + parkedType + "'" : "device '" + name + "' has no live table");
        return TargetMessages.send(t, name, ref, message);
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

    long awaitEvent(long after, long timeoutMillis) throws InterruptedException {
        return events.await(after, timeoutMillis);
    }

    List<DeviceEvent> events(long after) { return events.since(after); }

    /** A new opener handle, counted until closed. */
    OpenHandle open(String reference) {
        if (isRemoved()) throw new DmException(Errno.ENXIO, "device '" + name + "' was removed");
        openers.incrementAndGet();
        return new OpenHandle(this, reference);
    }

    void closed() { openers.decrementAndGet(); }

    @Override
    public String toString() { return name + "#" + id; }
}
