package org.ddmapper.targets.multipath.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;
import org.ddmapper.targets.multipath.MapRegistry;
import org.ddmapper.targets.multipath.internal.selector.PathSelector;
import org.tinylog.Logger;

/**
 * The multipath target (dm-mpath): priority groups of paths to the same storage, one group in
 * use at a time, a selector spreading I/O over the group's active paths.
 *
 * <p>Failure policy (the kernel's): a request that fails with a path error
 * ({@link Errno#isPathError()}) or outlives the path I/O timeout fails that path (event
 * PATH_FAILED) and is sent down another path; any other error is the storage's answer and
 * goes back to the caller. With no active path left the request waits in the queue when
 * {@code queue_if_no_path} is on, else it fails with EIO. Queued requests go down again when a
 * path is reinstated; on a noflush suspend they are handed back to the core (REQUEUE) to be
 * replayed on the next table; a flush suspend turns queueing off until resume, as the kernel
 * does, so a suspend never waits on a missing path.
 *
 * <p>Failing a path (I/O error, hang, checker, {@code fail_path}) also gives up on the requests
 * still in flight on it that share no buffer with their caller and sends them down another
 * path at once, instead of letting them wait out the path I/O timeout; a late answer from the
 * failed path is ignored.
 *
 * <p>Locking: all path and group state is guarded by {@code lock}. Nothing that can call out
 * (events, the monitor, device submits, completions) runs under it: such work is collected in
 * {@link Effects} and run after the lock is released. Events and monitor notices are queued
 * under the lock (so in the order of the state changes) and published in that order by
 * {@link #emitNotices()}, one thread at a time. Messages check "not suspended" and act under
 * the same lock, so a suspend (which sets the flag under it) never runs between the two.
 */
public final class MultipathTarget implements Target {
    static final String TYPE = "multipath";
    private static final long REQUEUE_RETRY_MILLIS = 5;

    private final TargetContext context;
    private final Features features;
    private final List<String> hwHandler;
    private final List<PriorityGroup> groups;
    private final List<Path> paths;
    private final MapRegistry registry;
    private final HangDetector hangDetector;
    private final long pathIoTimeoutMillis;
    private final Object lock = new Object();
    private final ArrayDeque<Bio> queued = new ArrayDeque<>();
    /** Events and monitor notices in the order of the state changes; added under {@code lock}. */
    private final ConcurrentLinkedQueue<Runnable> notices = new ConcurrentLinkedQueue<>();
    private final Object emitLock = new Object();
    private final java.util.concurrent.atomic.AtomicLong noticesQueued = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong noticesPublished = new java.util.concurrent.atomic.AtomicLong();
    private volatile MapWatcher watcher = MapWatcher.NONE;

    // guarded by lock
    private PriorityGroup currentGroup;
    private PriorityGroup nextGroup;
    /** The kernel's MPATHF_QUEUE_IO: set until the first I/O chooses a group (INFO's {@code <queue_io>}). */
    private boolean queueIo = true;
    private PriorityGroup lastGroup;
    private String nextGroupReason = "initial priority group";
    private boolean queueIfNoPath;
    private Boolean savedQueueIfNoPath;
    private boolean suspended;
    private boolean pushBack;
    private boolean destroyed;
    private int validPaths;

    MultipathTarget(TargetContext context, Features features, List<String> hwHandler, List<PriorityGroup> groups,
                    int initialGroup, MapRegistry registry) {
        this.context = context;
        this.features = features;
        this.hwHandler = List.copyOf(hwHandler);
        this.groups = List.copyOf(groups);
        List<Path> all = new ArrayList<>();
        for (PriorityGroup g : groups) all.addAll(g.paths());
        this.paths = List.copyOf(all);
        this.registry = registry;
        this.queueIfNoPath = features.queueIfNoPath();
        this.nextGroup = initialGroup > 0 ? groups.get(initialGroup - 1) : null;
        for (Path p : paths) if (p.isActive()) validPaths++;
        this.pathIoTimeoutMillis = features.effectivePathIoTimeoutMillis();
        this.hangDetector = pathIoTimeoutMillis > 0
                ? new HangDetector(pathIoTimeoutMillis, context.scheduler(), this::timedOut) : null;
    }

    /** Builds a target from its table arguments (see {@link MultipathTableParser}). */
    public static MultipathTarget create(TargetContext context, TableArgs args, MapRegistry registry) {
        return MultipathTableParser.parse(context, args, registry);
    }

    // ---------------------------------------------------------------- I/O

    @Override
    public void map(Bio bio) {
        dispatch(bio);
    }

    /** Sends a request down a path, or queues, requeues or fails it when there is none. */
    private void dispatch(Bio bio) {
        Effects fx = effects();
        PathIo io = null;
        IoStatus immediate = null;
        ByteBuffer bounce = null;
        if (hangDetector != null && bio.op().hasData()) {
            bounce = ByteBuffer.allocate((int) bio.lengthBytes());
            if (bio.op() == org.ddmapper.api.BioOp.WRITE) bounce.put(bio.data().duplicate()).flip();
        }
        synchronized (lock) {
            if (destroyed) {
                immediate = IoStatus.error(Errno.ENODEV, "multipath: the map was torn down");
            } else {
                Path path = choosePath(bio.lengthBytes(), fx);
                if (path == null) {
                    if (queueIfNoPath && pushBack) immediate = IoStatus.REQUEUE;
                    else if (queueIfNoPath) queued.add(bio);
                    else immediate = noPathError();
                } else {
                    // tracked under the lock: a path failed from now on finds this request and can retry it
                    io = new PathIo(path, path.device(), path.generation(), bio, bounce);
                    path.started(bio.lengthBytes());
                    path.track(io);
                }
            }
        }
        fx.run();
        if (immediate != null) bio.complete(immediate);
        else if (io != null) submit(io);
    }

    private void submit(PathIo io) {
        Bio bio = io.bio;
        Bio child = io.bounce == null
                ? bio.withCompletion(status -> pathDone(io, status))
                : Bio.of(bio.op(), bio.sector(), bio.lengthSectors(), io.bounce.duplicate(), bio.flags(),
                        status -> pathDone(io, status));
        if (io.isEnded()) return; // its path failed in the meantime and the request went elsewhere
        if (hangDetector != null) hangDetector.started(io);
        io.device.submit(child);
    }

    /** Bookkeeping for a request that ended on its path (any way): load, hang detector, replaced devices now idle. */
    private void left(PathIo io) {
        io.path.untrack(io);
        if (hangDetector != null) hangDetector.finished(io);
        io.path.ended(io.bytes());
        closeRetired(io.path);
    }

    private void closeRetired(Path path) {
        for (BlockDevice d : path.drainedRetired()) closeQuietly(d);
    }

    private void pathDone(PathIo io, IoStatus status) {
        if (!io.end()) return; // already timed out or its path failed: retried elsewhere
        left(io);
        Bio bio = io.bio;
        if (status.isOk()) {
            if (io.bounce != null && bio.op() == org.ddmapper.api.BioOp.READ) bio.data().put(io.bounce.duplicate());
            bio.complete(IoStatus.OK);
        } else if (status.isRequeue()) {
            retryLater(bio);
        } else if (status.errno().isPathError()) {
            failPath(io.path, io.generation, describe(bio, status), false);
            dispatch(bio);
        } else {
            bio.complete(status);
        }
    }

    private void timedOut(PathIo io) {
        if (!io.end()) return;
        left(io);
        failPath(io.path, io.generation, io.bio.op().name().toLowerCase() + " timed out after "
                + pathIoTimeoutMillis + " ms", false);
        dispatch(io.bio);
    }

    /** A path handed the request back (its own suspend): try again shortly, without failing it. */
    private void retryLater(Bio bio) {
        try {
            context.scheduler().schedule(() -> dispatch(bio), REQUEUE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            dispatch(bio);
        }
    }

    private static String describe(Bio bio, IoStatus status) {
        return bio.op().name().toLowerCase() + " failed: " + status.errno()
                + (status.message() == null ? "" : " (" + status.message() + ")");
    }

    private IoStatus noPathError() {
        return IoStatus.error(Errno.EIO, "multipath: no usable path (" + paths.size() + " failed) and queue_if_no_path is off");
    }

    // ---------------------------------------------------------------- path choice (kernel choose_pgpath)

    private Path choosePath(long bytes, Effects fx) {
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
                useGroup(g, reason, fx);
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
                    useGroup(g, bypassedPass ? reason + "; using bypassed group" : reason, fx);
                    return p;
                }
            }
        }
        currentGroup = null;
        return null;
    }

    private void useGroup(PriorityGroup g, String reason, Effects fx) {
        currentGroup = g;
        queueIo = false;
        PriorityGroup from = lastGroup;
        lastGroup = g;
        if (from != null && from != g)
            event(EventKind.PG_SWITCHED, "from", from.number(), "to", g.number(), "reason", reason, "requested", 0);
    }

    // ---------------------------------------------------------------- path state

    /** Fails a path unless it already failed or its device was replaced since ({@code generation}). */
    private void failPath(Path path, int generation, String reason, boolean byOperator) {
        Effects fx = effects();
        synchronized (lock) {
            if (path.generation() != generation) return;
            failLocked(path, reason, byOperator, fx);
        }
        fx.run();
    }

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
        event(EventKind.PATH_FAILED, "path", path.reference(), "number", path.number(), "group",
                path.group().number(), "reason", reason, "fail_count", path.failCount(), "valid_paths", validPaths,
                "retried", retry.size());
        MapWatcher w = watcher;
        notice(() -> w.pathFailed(this, path, reason, byOperator));
        if (!retry.isEmpty()) {
            Logger.info("multipath {}: path {} failed ({}); {} request(s) in flight on it go down another path",
                    name(), path, reason, retry.size());
            fx.add(() -> {
                for (PathIo io : retry) {
                    left(io);
                    dispatch(io.bio);
                }
            });
        }
    }

    boolean reinstateLocked(Path path, String reason, Effects fx) {
        if (path.isActive() || path.device() == null) return false;
        path.active(true);
        if (validPaths++ == 0) kickQueue(fx);
        event(EventKind.PATH_REINSTATED, "path", path.reference(), "number", path.number(), "group",
                path.group().number(), "reason", reason, "valid_paths", validPaths);
        MapWatcher w = watcher;
        notice(() -> w.pathReinstated(this, path, reason));
        return true;
    }

    /** Takes every queued request out to be sent down again (or failed) after the lock is released. */
    private void kickQueue(Effects fx) {
        if (queued.isEmpty()) return;
        List<Bio> waiting = new ArrayList<>(queued);
        queued.clear();
        fx.add(() -> waiting.forEach(this::dispatch));
    }

    /** Fails a path (monitor, messages). */
    public void failPath(Path path, String reason, boolean byOperator) {
        Effects fx = effects();
        synchronized (lock) {
            failLocked(path, reason, byOperator, fx);
        }
        fx.run();
    }

    /** Reinstates a path that has a device (monitor, messages). */
    public void reinstatePath(Path path, String reason) {
        reinstatePath(path, reason, -1);
    }

    /**
     * Reinstates a path that has a device, unless its fail count is no longer
     * {@code expectedFailCount} (-1: any) — I/O failed it again since the caller looked, so what the
     * caller saw may describe the moment before. Checked and done under the lock; returns whether
     * the path is active now because of this call.
     */
    public boolean reinstatePath(Path path, String reason, int expectedFailCount) {
        Effects fx = effects();
        boolean done;
        synchronized (lock) {
            done = (expectedFailCount < 0 || path.failCount() == expectedFailCount) && reinstateLocked(path, reason, fx);
        }
        fx.run();
        return done;
    }

    /**
     * Puts a freshly opened device under a path (a reconnect) and reinstates it unless
     * {@code reinstate} is false (flap damping holds it out). The replaced device is closed as
     * soon as none of its requests is in flight any more (at once when the path had failed and
     * its requests were retried elsewhere), whoever opened it — closing is idempotent, so the
     * core closing a table's device again at unload does no harm.
     */
    public void replaceDevice(Path path, BlockDevice device, boolean reinstate, String reason) {
        replaceDevice(path, device, reinstate, reason, -1, "reopened");
    }

    /**
     * As {@link #replaceDevice(Path, BlockDevice, boolean, String)}, refused (the device closed,
     * false returned) when the map is gone or the path's fail count is no longer
     * {@code expectedFailCount} (-1: any). {@code transport} is what {@code show} tells of it.
     */
    public boolean replaceDevice(Path path, BlockDevice device, boolean reinstate, String reason, int expectedFailCount,
                                 String transport) {
        checkSize(path.reference(), device);
        Effects fx = effects();
        boolean done;
        synchronized (lock) {
            done = replaceLocked(path, device, reinstate, reason, expectedFailCount, transport, fx);
        }
        fx.run();
        if (!done) closeQuietly(device);
        return done;
    }

    boolean replaceLocked(Path path, BlockDevice device, boolean reinstate, String reason, int expectedFailCount,
                          String transport, Effects fx) {
        if (destroyed || (expectedFailCount >= 0 && path.failCount() != expectedFailCount)) return false;
        BlockDevice previous = path.swapDevice(device, true, transport);
        if (previous != null && previous != device) {
            path.retire(previous);
            fx.add(() -> closeRetired(path));
        }
        if (reinstate) reinstateLocked(path, reason, fx);
        return true;
    }

    /** Turns queueing with no path on or off (messages, no_path_retry); returns whether it changed. */
    public boolean setQueueIfNoPath(boolean queue, String reason) {
        Effects fx = effects();
        boolean changed;
        synchronized (lock) {
            changed = setQueueLocked(queue, reason, fx);
        }
        fx.run();
        return changed;
    }

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
        if (changed) event(EventKind.QUEUE_MODE_CHANGED, "queue_if_no_path", queue ? 1 : 0, "reason", reason,
                "queued", queued.size());
        if (kick) kickQueue(fx);
        return changed;
    }

    /**
     * Makes group {@code number} the next one tried (switch_group), as Linux 6.1 does: no group is
     * current until the next I/O chooses it (status shows it as the group but not yet as {@code A});
     * every group's bypass is cleared; the switch is an event now, not when I/O takes it.
     */
    public void switchGroup(int number, String reason) {
        Effects fx = effects();
        synchronized (lock) {
            switchGroupLocked(number, reason);
        }
        fx.run();
    }

    void switchGroupLocked(int number, String reason) {
        PriorityGroup g = groups.get(number - 1);
        for (PriorityGroup each : groups) each.bypassed(false);
        PriorityGroup from = lastGroup;
        currentGroup = null;
        nextGroup = g;
        nextGroupReason = reason;
        lastGroup = g;
        event(EventKind.PG_SWITCHED, "from", from == null ? 0 : from.number(), "to", number, "reason", reason, "requested", 1);
    }

    /** Marks a group bypassed or not (disable_group / enable_group). */
    public void bypassGroup(int number, boolean bypassed, String reason) {
        Effects fx = effects();
        synchronized (lock) {
            bypassGroupLocked(number, bypassed, reason);
        }
        fx.run();
    }

    void bypassGroupLocked(int number, boolean bypassed, String reason) {
        PriorityGroup g = groups.get(number - 1);
        if (g.isBypassed() != bypassed) {
            g.bypassed(bypassed);
            currentGroup = null;
            if (bypassed && nextGroup == g) nextGroup = null;
            event(EventKind.PG_BYPASSED, "group", number, "bypassed", bypassed ? 1 : 0, "reason", reason);
        }
    }

    /**
     * Runs a message's state changes under the lock, refused with EBUSY while the device is
     * suspended: the check and the change are one step, so a suspend or table swap (presuspend
     * sets the flag under the same lock) cannot slip in between. The effects run afterwards.
     */
    void act(String verb, java.util.function.Consumer<Effects> change) {
        Effects fx = effects();
        synchronized (lock) {
            if (suspended)
                throw new DmException(Errno.EBUSY, "multipath: '" + verb + "' refused: the device is suspended");
            change.accept(fx);
        }
        fx.run();
    }

    /**
     * The reference to adopt a socket under. With no handshake on it the transport cannot learn
     * the export's size or transmission flags: an NBD reference gets {@code size=} (the one the
     * message gave, else the target's length) and {@code flags=} when the message gave them (else
     * the NBD client falls back to the flags of this reference's last handshake, or refuses).
     */
    String adoptReference(String reference, boolean negotiated) {
        return adoptReference(reference, negotiated, -1, -1);
    }

    String adoptReference(String reference, boolean negotiated, long sizeBytes, int flags) {
        if (!negotiated || !reference.startsWith("nbd")) return reference;
        StringBuilder r = new StringBuilder(reference);
        if (!reference.contains("size=")) {
            r.append(r.indexOf("?") >= 0 ? '&' : '?').append("size=")
                    .append(sizeBytes >= 0 ? sizeBytes : context.lengthSectors() * Bio.SECTOR_BYTES);
        }
        if (flags >= 0 && !reference.contains("flags=")) {
            r.append(r.indexOf("?") >= 0 ? '&' : '?').append("flags=0x").append(Integer.toHexString(flags));
        }
        return r.toString();
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void presuspend(boolean noflush) {
        Effects fx = effects();
        List<Bio> handBack;
        synchronized (lock) {
            suspended = true;
            if (noflush) {
                pushBack = true;
                handBack = new ArrayList<>(queued);
                queued.clear();
            } else {
                handBack = List.of();
                savedQueueIfNoPath = queueIfNoPath;
                queueIfNoPath = false;
                kickQueue(fx);
            }
        }
        fx.run();
        for (Bio bio : handBack) bio.complete(IoStatus.REQUEUE);
    }

    @Override
    public void resume() {
        synchronized (lock) {
            suspended = false;
            pushBack = false;
            if (savedQueueIfNoPath != null) {
                queueIfNoPath = savedQueueIfNoPath;
                savedQueueIfNoPath = null;
            }
        }
        if (registry != null) registry.live(this);
    }

    @Override
    public void destroy() {
        List<Bio> orphans;
        List<BlockDevice> owned = new ArrayList<>();
        synchronized (lock) {
            destroyed = true;
            orphans = new ArrayList<>(queued);
            queued.clear();
            for (Path p : paths) {
                if (p.deviceOwned() && p.device() != null) owned.add(p.device());
                owned.addAll(p.takeRetired()); // replaced devices whose requests never ended
            }
        }
        if (registry != null) registry.gone(this);
        if (hangDetector != null) hangDetector.stop();
        for (Bio bio : orphans) bio.fail(Errno.EIO, "multipath: map torn down with this request waiting for a path");
        owned.forEach(MultipathTarget::closeQuietly);
    }

    // ---------------------------------------------------------------- status and messages

    @Override
    public String status(StatusType type) {
        synchronized (lock) {
            return type == StatusType.INFO ? StatusText.info(this) : StatusText.table(this);
        }
    }

    @Override
    public String message(Message message) {
        return MessageHandler.handle(this, message);
    }

    @Override
    public Optional<TargetState> exportState() {
        synchronized (lock) {
            return Optional.of(StateCodec.export(this));
        }
    }

    @Override
    public void importState(TargetState state) {
        Effects fx = effects();
        synchronized (lock) {
            StateCodec.apply(this, state);
        }
        fx.run();
    }

    // ---------------------------------------------------------------- views for the monitor, status and messages

    public TargetContext context() { return context; }

    /** The device name the map was built under. */
    public String name() { return context.deviceName(); }

    public List<PriorityGroup> groups() { return groups; }

    public List<Path> paths() { return paths; }

    Features features() { return features; }

    List<String> hwHandler() { return hwHandler; }

    Object lock() { return lock; }

    public MapWatcher watcher() { return watcher; }

    public void watcher(MapWatcher w) { this.watcher = w == null ? MapWatcher.NONE : w; }

    /** Active paths now. */
    public int validPaths() {
        synchronized (lock) {
            return validPaths;
        }
    }

    /** How often {@code path} has failed so far (read under the map's lock). */
    public int failCount(Path path) {
        synchronized (lock) {
            return path.failCount();
        }
    }

    /** Requests waiting for a path now. */
    public int queuedRequests() {
        synchronized (lock) {
            return queued.size();
        }
    }

    public boolean queueIfNoPath() {
        synchronized (lock) {
            return savedQueueIfNoPath != null ? savedQueueIfNoPath : queueIfNoPath;
        }
    }

    public boolean isSuspended() {
        synchronized (lock) {
            return suspended;
        }
    }

    /** The group in use (0 before the first I/O or with no path), as INFO's group field counts it. */
    public int currentGroupNumber() {
        synchronized (lock) {
            return groupNumberLocked();
        }
    }

    /**
     * The group I/O goes to: the one switched to and not yet taken by I/O, else the one in use;
     * 0 when none was chosen since the last loss of every path in it.
     */
    public int groupInUse() {
        synchronized (lock) {
            PriorityGroup g = nextGroup != null ? nextGroup : currentGroup;
            return g == null ? 0 : g.number();
        }
    }

    /** The number INFO and TABLE print: the next group if one is set, else the current one, else 1. */
    int groupNumberLocked() {
        if (nextGroup != null) return nextGroup.number();
        if (currentGroup != null) return currentGroup.number();
        return groups.isEmpty() ? 0 : 1;
    }

    PriorityGroup currentGroupLocked() { return currentGroup; }

    /** INFO's {@code <queue_io>}: 1 until the first I/O chose a group, as in Linux 6.1 (no hardware handler sets it again). */
    boolean queueIoLocked() { return queueIo; }

    int queuedLocked() { return queued.size(); }

    boolean queueIfNoPathLocked() { return savedQueueIfNoPath != null ? savedQueueIfNoPath : queueIfNoPath; }

    boolean suspendedLocked() { return suspended; }

    /** Restores a path's state from a predecessor (live upgrade); no events. Called under the lock. */
    void restorePath(Path path, boolean active, int failCount, String lastFailure) {
        path.failCount(failCount);
        path.lastFailure(lastFailure);
        if (path.isActive() && !active) {
            path.active(false);
            validPaths--;
        }
    }

    /** Restores the group in use and bypass flags (live upgrade). Called under the lock. */
    void restoreGroups(int current, List<Integer> bypassedGroups, boolean queue) {
        for (PriorityGroup g : groups) g.bypassed(bypassedGroups.contains(g.number()));
        if (current > 0 && current <= groups.size()) {
            nextGroup = groups.get(current - 1);
            lastGroup = nextGroup;
            nextGroupReason = "state from the previous version";
        }
        queueIfNoPath = queue;
    }

    /** Raises an event for this map (monitor: PATH_DAMPED and the like). */
    public void raise(EventKind kind, Object... keyValues) {
        synchronized (lock) {
            event(kind, keyValues);
        }
        emitNotices();
    }

    /** Queues an event; called under the lock, so events come out in the order of the state changes. */
    private void event(EventKind kind, Object... keyValues) {
        Map<String, String> details = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) details.put((String) keyValues[i], String.valueOf(keyValues[i + 1]));
        notice(() -> {
            try {
                context.raiseEvent(kind, details);
            } catch (RuntimeException e) {
                Logger.warn("multipath {}: could not raise {}: {}", name(), kind, e.getMessage());
            }
        });
    }

    /** Queues an event or monitor notice; called under the lock. */
    private void notice(Runnable r) {
        notices.add(r);
        noticesQueued.incrementAndGet();
    }

    private Effects effects() { return new Effects(this::emitNotices); }

    /**
     * Publishes queued events and monitor notices in queue order. One thread at a time: a thread
     * that finds another publishing waits for it, so when this returns everything this thread
     * queued has been published (by it or by the other). Never called under {@code lock}.
     */
    void emitNotices() {
        if (noticesPublished.get() == noticesQueued.get()) return; // the I/O path's usual case: nothing to do
        synchronized (emitLock) {
            Runnable r;
            while ((r = notices.poll()) != null) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    Logger.warn("multipath {}: a notice failed: {}", name(), e.toString());
                } finally {
                    noticesPublished.incrementAndGet();
                }
            }
        }
    }

    /** Refuses a device smaller than the target. */
    void checkSize(String reference, BlockDevice device) {
        if (device.sizeSectors() < context.lengthSectors())
            throw new DmException(Errno.EINVAL, "multipath: path '" + reference + "' has " + device.sizeSectors()
                    + " sectors, fewer than the target's " + context.lengthSectors());
    }

    /** Opens a path's reference anew (monitor reconnects); the caller hands it to {@link #replaceDevice} or closes it. */
    public BlockDevice reopen(Path path) {
        BlockDevice d = context.openDevice(path.reference());
        try {
            checkSize(path.reference(), d);
        } catch (DmException e) {
            closeQuietly(d);
            throw e;
        }
        return d;
    }

    static void closeQuietly(BlockDevice device) {
        try {
            device.close();
        } catch (RuntimeException e) {
            Logger.debug("closing {}: {}", device.reference(), e.getMessage());
        }
    }

    PathSelector selectorOf(Path p) { return p.group().selector(); }
}
