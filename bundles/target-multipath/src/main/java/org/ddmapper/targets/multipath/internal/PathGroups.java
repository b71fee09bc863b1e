package org.ddmapper.targets.multipath.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.EventPayload;
import org.tinylog.Logger;

/**
 * The paths and priority groups of one multipath map and the state that decides where a request
 * goes (the kernel's {@code struct multipath}): which group is in use and which is tried next,
 * which paths are active, whether requests with no path queue, and the requests queued now.
 *
 * <p>Everything here is guarded by {@link #lock}; the methods named {@code ...Locked} are called
 * with it held. A state change never calls out under the lock: its events and the path monitor's
 * notices are queued in {@link Notices} (in the order of the changes), and the requests it sends
 * down again are collected in {@link Effects}, to run once the lock is released.
 */
final class PathGroups {
    /** Sends requests down again (the I/O side of the map): after a path failed, or a path came back. */
    interface Redispatch {
        /** A request left its path (bookkeeping: load, hang detector, replaced devices now idle). */
        void left(PathIo io);

        /** Sends a request down a path, or queues, requeues or fails it. */
        void dispatch(Bio bio);
    }

    final Object lock = new Object();
    private final MonitoredMap map;
    private final List<PriorityGroup> groups;
    private final List<Path> paths;
    private final Notices notices;
    private final Redispatch io;
    private final ArrayDeque<Bio> queued = new ArrayDeque<>();
    private PriorityGroup currentGroup;
    private PriorityGroup nextGroup;
    private PriorityGroup lastGroup;
    private String nextGroupReason = "initial priority group";
    /** The kernel's MPATHF_QUEUE_IO: set until the first I/O chooses a group (INFO's {@code <queue_io>}). */
    private boolean queueIo = true;
    private boolean queueIfNoPath;
    private Boolean savedQueueIfNoPath;
    private boolean suspended;
    private boolean pushBack;
    private boolean destroyed;
    private int validPaths;

    PathGroups(MonitoredMap map, List<PriorityGroup> groups, int initialGroup, boolean queueIfNoPath, Notices notices, Redispatch io) {
        this.map = map;
        this.groups = List.copyOf(groups);
        List<Path> all = new ArrayList<>();
        for (PriorityGroup g : groups) all.addAll(g.paths());
        this.paths = List.copyOf(all);
        this.queueIfNoPath = queueIfNoPath;
        this.nextGroup = initialGroup > 0 ? groups.get(initialGroup - 1) : null;
        this.notices = notices;
        this.io = io;
        for (Path p : paths) if (p.isActive()) validPaths++;
    }

    List<PriorityGroup> groups() { return groups; }

    List<Path> paths() { return paths; }

    // ---------------------------------------------------------------- path choice (kernel choose_pgpath)

    /** A path for a request of {@code bytes}, switching groups as the kernel does; null when no path is usable. */
    Path choosePathLocked(long bytes) {
        if (validPaths == 0) {
            currentGroup = null;
            return null;
        }
        if (nextGroup != null) {
            PriorityGroup g = nextGroup;
            String reason = nextGroupReason;
            nextGroup = null;
            Path p = g.select(bytes);
            if (p != null) {
                useGroup(g, reason);
                return p;
            }
        }
        if (currentGroup != null) {
            Path p = currentGroup.select(bytes);
            if (p != null) return p;
        }
        String reason = currentGroup != null
                ? "group " + currentGroup.number() + " has no usable path"
                : lastGroup != null && lastGroup.activePaths() == 0
                ? "group " + lastGroup.number() + " has no usable path" : "best usable group";
        for (boolean bypassedPass : new boolean[] {false, true}) {
            for (PriorityGroup g : groups) {
                if (g.isBypassed() != bypassedPass) continue;
                Path p = g.select(bytes);
                if (p != null) {
                    useGroup(g, bypassedPass ? reason + "; using bypassed group" : reason);
                    return p;
                }
            }
        }
        currentGroup = null;
        return null;
    }

    private void useGroup(PriorityGroup g, String reason) {
        currentGroup = g;
        queueIo = false;
        PriorityGroup from = lastGroup;
        lastGroup = g;
        if (from != null && from != g) notices.event(new EventPayload.PgSwitched(from.number(), g.number(), reason, false));
    }

    /** A request with no path waits here until a path comes back (queue_if_no_path). */
    void queueLocked(Bio bio) { queued.add(bio); }

    // ---------------------------------------------------------------- path state

    /** Fails an active path; what is still in flight on it and may be given up on goes down another path (after the lock). */
    void failLocked(Path path, String reason, boolean byOperator, Effects fx) {
        if (!path.isActive()) return;
        path.active(false);
        path.failCount(path.failCount() + 1);
        path.lastFailure(reason);
        validPaths--;
        // the group stays the current one (status keeps its A) until the next I/O chooses again, as in 6.1
        // what is still in flight here would wait for a path that is gone (a silent peer: up to the
        // I/O timeout): give up on it now and send it down another path, after the event says why
        List<PathIo> retry = path.claimAbandonable();
        notices.event(new EventPayload.PathFailed(path.reference(), path.number(), path.group().number(), reason, path.failCount(),
                validPaths, retry.size()));
        notices.notice(w -> w.pathFailed(map, path, reason, byOperator));
        if (!retry.isEmpty()) {
            Logger.info("multipath {}: path {} failed ({}); {} request(s) in flight on it go down another path",
                    map.name(), path, reason, retry.size());
            fx.add(() -> {
                for (PathIo r : retry) {
                    io.left(r);
                    io.dispatch(r.bio);
                }
            });
        }
    }

    /** Reinstates a failed path that has a device; false when it was active or has none. */
    boolean reinstateLocked(Path path, String reason, Effects fx) {
        if (path.isActive() || path.device() == null) return false;
        path.active(true);
        if (validPaths++ == 0) kickQueue(fx);
        notices.event(new EventPayload.PathReinstated(path.reference(), path.number(), path.group().number(), reason, validPaths));
        notices.notice(w -> w.pathReinstated(map, path, reason));
        return true;
    }

    /** Takes every queued request out to be sent down again (or failed) after the lock is released. */
    private void kickQueue(Effects fx) {
        if (queued.isEmpty()) return;
        List<Bio> waiting = new ArrayList<>(queued);
        queued.clear();
        fx.add(() -> waiting.forEach(io::dispatch));
    }

    /** Turns queueing with no path on or off; returns whether it changed. During a flush suspend the saved mode changes. */
    boolean setQueueLocked(boolean queue, String reason, Effects fx) {
        boolean changed;
        boolean kick;
        if (suspended && savedQueueIfNoPath != null) {
            changed = savedQueueIfNoPath != queue;
            savedQueueIfNoPath = queue;
            kick = false;
        } else {
            changed = queueIfNoPath != queue;
            queueIfNoPath = queue;
            kick = !queue;
        }
        // the event first: whoever sees a queued request fail can already read why
        if (changed) notices.event(new EventPayload.QueueModeChanged(queue, reason, queued.size()));
        if (kick) kickQueue(fx);
        return changed;
    }

    /**
     * Makes group {@code number} the next one tried (switch_group), as Linux 6.1 does: no group is
     * current until the next I/O chooses it (status shows it as the group but not yet as {@code A});
     * every group's bypass is cleared; the switch is an event now, not when I/O takes it.
     */
    void switchGroupLocked(int number, String reason) {
        PriorityGroup g = groups.get(number - 1);
        for (PriorityGroup each : groups) each.bypassed(false);
        PriorityGroup from = lastGroup;
        currentGroup = null;
        nextGroup = g;
        nextGroupReason = reason;
        lastGroup = g;
        notices.event(new EventPayload.PgSwitched(from == null ? 0 : from.number(), number, reason, true));
    }

    /** Marks a group bypassed or not (disable_group / enable_group). */
    void bypassGroupLocked(int number, boolean bypassed, String reason) {
        PriorityGroup g = groups.get(number - 1);
        if (g.isBypassed() != bypassed) {
            g.bypassed(bypassed);
            currentGroup = null;
            if (bypassed && nextGroup == g) nextGroup = null;
            notices.event(new EventPayload.PgBypassed(number, bypassed, reason));
        }
    }

    // ---------------------------------------------------------------- suspend, resume, teardown

    /**
     * The map is being suspended: with noflush, what is queued is handed back (returned, to complete
     * with REQUEUE after the lock) and new requests with no path are handed back too; a flush
     * suspend turns queueing off until resume, as the kernel does, so it never waits on a missing path.
     */
    List<Bio> suspendLocked(boolean noflush, Effects fx) {
        suspended = true;
        if (!noflush) {
            savedQueueIfNoPath = queueIfNoPath;
            queueIfNoPath = false;
            kickQueue(fx);
            return List.of();
        }
        pushBack = true;
        List<Bio> handBack = new ArrayList<>(queued);
        queued.clear();
        return handBack;
    }

    void resumeLocked() {
        suspended = false;
        pushBack = false;
        if (savedQueueIfNoPath != null) {
            queueIfNoPath = savedQueueIfNoPath;
            savedQueueIfNoPath = null;
        }
    }

    /** The map is torn down: returns the requests still queued (to fail after the lock). */
    List<Bio> destroyLocked() {
        destroyed = true;
        List<Bio> orphans = new ArrayList<>(queued);
        queued.clear();
        return orphans;
    }

    /** Restores a path's state from a predecessor (live upgrade); no events. */
    void restorePathLocked(Path path, boolean active, int failCount, String lastFailure) {
        path.failCount(failCount);
        path.lastFailure(lastFailure);
        if (path.isActive() && !active) {
            path.active(false);
            validPaths--;
        }
    }

    /** Restores the group in use, the bypass flags and the queueing mode (live upgrade). */
    void restoreGroupsLocked(int current, List<Integer> bypassedGroups, boolean queue) {
        for (PriorityGroup g : groups) g.bypassed(bypassedGroups.contains(g.number()));
        if (current > 0 && current <= groups.size()) {
            nextGroup = groups.get(current - 1);
            lastGroup = nextGroup;
            nextGroupReason = "state from the previous version";
        }
        queueIfNoPath = queue;
    }

    // ---------------------------------------------------------------- views (lock held)

    boolean destroyedLocked() { return destroyed; }

    /** Whether a request with no path is handed back to the core (a noflush suspend is under way). */
    boolean pushBackLocked() { return pushBack; }

    int validPathsLocked() { return validPaths; }

    int queuedLocked() { return queued.size(); }

    /** The mode as the table shows it (the saved one during a flush suspend). */
    boolean queueIfNoPathLocked() { return savedQueueIfNoPath != null ? savedQueueIfNoPath : queueIfNoPath; }

    /** The mode requests with no path follow now. */
    boolean queueingNowLocked() { return queueIfNoPath; }

    boolean suspendedLocked() { return suspended; }

    PriorityGroup currentGroupLocked() { return currentGroup; }

    /** The group I/O goes to: the one switched to and not yet taken by I/O, else the one in use; null when none. */
    PriorityGroup groupInUseLocked() { return nextGroup != null ? nextGroup : currentGroup; }

    /** INFO's {@code <queue_io>}: true until the first I/O chose a group, as in Linux 6.1 (no hardware handler sets it again). */
    boolean queueIoLocked() { return queueIo; }

    /** The number INFO and TABLE print: the next group if one is set, else the current one, else 1. */
    int groupNumberLocked() {
        if (nextGroup != null) return nextGroup.number();
        if (currentGroup != null) return currentGroup.number();
        return groups.isEmpty() ? 0 : 1;
    }
}
