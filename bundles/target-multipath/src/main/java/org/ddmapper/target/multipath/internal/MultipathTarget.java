package org.ddmapper.target.multipath.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
import org.ddmapper.target.multipath.MapRegistry;
import org.ddmapper.target.multipath.internal.selector.PathSelector;
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
 * <p>Locking: all path and group state is guarded by {@code lock}. Nothing that can call out
 * (events, the monitor, device submits, completions) runs under it: such work is collected in
 * {@link Effects} and run after the lock is released.
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
    private volatile MapWatcher watcher = MapWatcher.NONE;

    // guarded by lock
    private PriorityGroup currentGroup;
    private PriorityGroup nextGroup;
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
        Effects fx = new Effects();
        Path path = null;
        BlockDevice device = null;
        int generation = 0;
        IoStatus immediate = null;
        synchronized (lock) {
            if (destroyed) {
                immediate = IoStatus.error(Errno.ENODEV, "multipath: the map was torn down");
            } else {
                path = choosePath(bio.lengthBytes(), fx);
                if (path == null) {
                    if (queueIfNoPath && pushBack) immediate = IoStatus.REQUEUE;
                    else if (queueIfNoPath) queued.add(bio);
                    else immediate = noPathError();
                } else {
                    device = path.device();
                    generation = path.generation();
                    path.started(bio.lengthBytes());
                }
            }
        }
        fx.run();
        if (immediate != null) bio.complete(immediate);
        else if (path != null) submit(path, device, generation, bio);
    }

    private void submit(Path path, BlockDevice device, int generation, Bio bio) {
        ByteBuffer bounce = null;
        if (hangDetector != null && bio.op().hasData()) {
            bounce = ByteBuffer.allocate((int) bio.lengthBytes());
            if (bio.op() == org.ddmapper.api.BioOp.WRITE) {
                bounce.put(bio.data()).flip();
            }
        }
        PathIo io = new PathIo(path, device, generation, bio, bounce);
        Bio child = bounce == null
                ? bio.withCompletion(status -> pathDone(io, status))
                : Bio.of(bio.op(), bio.sector(), bio.lengthSectors(), bounce.duplicate(), bio.flags(),
                        status -> pathDone(io, status));
        if (hangDetector != null) hangDetector.started(io);
        device.submit(child);
    }

    private void pathDone(PathIo io, IoStatus status) {
        if (!io.end()) return; // already timed out and retried elsewhere
        if (hangDetector != null) hangDetector.finished(io);
        io.path.ended(io.bytes());
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
        io.path.ended(io.bytes());
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
        PriorityGroup from = lastGroup;
        lastGroup = g;
        if (from != null && from != g) event(fx, EventKind.PG_SWITCHED, "from", from.number(), "to", g.number(), "reason", reason);
    }

    // ---------------------------------------------------------------- path state

    /** Fails a path unless it already failed or its device was replaced since ({@code generation}). */
    private void failPath(Path path, int generation, String reason, boolean byOperator) {
        Effects fx = new Effects();
        synchronized (lock) {
            if (path.generation() != generation) return;
            failLocked(path, reason, byOperator, fx);
        }
        fx.run();
    }

    private void failLocked(Path path, String reason, boolean byOperator, Effects fx) {
        if (!path.isActive()) return;
        path.active(false);
        path.failCount(path.failCount() + 1);
        path.lastFailure(reason);
        validPaths--;
        event(fx, EventKind.PATH_FAILED, "path", path.reference(), "number", path.number(), "group",
                path.group().number(), "reason", reason, "fail_count", path.failCount(), "valid_paths", validPaths);
        MapWatcher w = watcher;
        fx.add(() -> w.pathFailed(this, path, reason, byOperator));
        if (currentGroup == path.group() && path.group().activePaths() == 0) currentGroup = null;
    }

    private void reinstateLocked(Path path, String reason, Effects fx) {
        if (path.isActive() || path.device() == null) return;
        path.active(true);
        if (validPaths++ == 0) kickQueue(fx);
        event(fx, EventKind.PATH_REINSTATED, "path", path.reference(), "number", path.number(), "group",
                path.group().number(), "reason", reason, "valid_paths", validPaths);
        MapWatcher w = watcher;
        fx.add(() -> w.pathReinstated(this, path, reason));
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
        Effects fx = new Effects();
        synchronized (lock) {
            failLocked(path, reason, byOperator, fx);
        }
        fx.run();
    }

    /** Reinstates a path that has a device (monitor, messages). */
    public void reinstatePath(Path path, String reason) {
        Effects fx = new Effects();
        synchronized (lock) {
            reinstateLocked(path, reason, fx);
        }
        fx.run();
    }

    /**
     * Puts a freshly opened device under a path (a reconnect) and reinstates it unless
     * {@code reinstate} is false (flap damping holds it out). The replaced device is closed if
     * this target opened it; devices from the table are the core's to close.
     */
    public void replaceDevice(Path path, BlockDevice device, boolean reinstate, String reason) {
        checkSize(path.reference(), device);
        Effects fx = new Effects();
        BlockDevice previous;
        boolean previousOwned;
        synchronized (lock) {
            if (destroyed) {
                fx.add(device::close);
                previous = null;
                previousOwned = false;
            } else {
                previousOwned = path.deviceOwned();
                previous = path.swapDevice(device, true);
                if (reinstate) reinstateLocked(path, reason, fx);
            }
        }
        fx.run();
        if (previous != null && previousOwned) closeQuietly(previous);
    }

    /** Turns queueing with no path on or off (messages, no_path_retry); returns whether it changed. */
    public boolean setQueueIfNoPath(boolean queue, String reason) {
        Effects fx = new Effects();
        boolean changed;
        synchronized (lock) {
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
            if (changed) event(fx, EventKind.QUEUE_MODE_CHANGED, "queue_if_no_path", queue ? 1 : 0, "reason", reason,
                    "queued", queued.size());
            if (kick) kickQueue(fx);
        }
        fx.run();
        return changed;
    }

    /** Makes group {@code number} the one in use now when it has an active path, else the next one tried (switch_group). */
    public void switchGroup(int number, String reason) {
        Effects fx = new Effects();
        synchronized (lock) {
            PriorityGroup g = groups.get(number - 1);
            for (PriorityGroup each : groups) each.bypassed(false);
            if (g.activePaths() > 0) {
                PriorityGroup from = lastGroup;
                currentGroup = g;
                lastGroup = g;
                nextGroup = null;
                if (from != g) event(fx, EventKind.PG_SWITCHED, "from", from == null ? 0 : from.number(), "to", number,
                        "reason", reason);
            } else {
                nextGroup = g;
                nextGroupReason = reason;
            }
        }
        fx.run();
    }

    /** Marks a group bypassed or not (disable_group / enable_group). */
    public void bypassGroup(int number, boolean bypassed, String reason) {
        Effects fx = new Effects();
        synchronized (lock) {
            PriorityGroup g = groups.get(number - 1);
            if (g.isBypassed() != bypassed) {
                g.bypassed(bypassed);
                currentGroup = null;
                if (bypassed && nextGroup == g) nextGroup = null;
                event(fx, EventKind.PG_BYPASSED, "group", number, "bypassed", bypassed ? 1 : 0, "reason", reason);
            }
        }
        fx.run();
    }

    /** Adopts a passed socket as a path's transport (reconnect_path). */
    String reconnect(Path path, org.ddmapper.api.PassedFd socket, boolean negotiated) {
        BlockDevice device = context.adoptSocket(adoptReference(path.reference(), negotiated), socket, negotiated);
        try {
            replaceDevice(path, device, true, "reconnect_path message");
        } catch (DmException e) {
            closeQuietly(device);
            throw e;
        }
        return "";
    }

    /**
     * The reference to adopt a socket under. With no handshake on it the transport cannot learn
     * the export's size, so an NBD reference without one gets {@code size=} (the target's length).
     */
    String adoptReference(String reference, boolean negotiated) {
        if (!negotiated || !reference.startsWith("nbd") || reference.contains("size=")) return reference;
        return reference + (reference.contains("?") ? "&" : "?") + "size=" + context.lengthSectors() * Bio.SECTOR_BYTES;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void presuspend(boolean noflush) {
        Effects fx = new Effects();
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
            for (Path p : paths) if (p.deviceOwned() && p.device() != null) owned.add(p.device());
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
        Effects fx = new Effects();
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

    /** The group I/O goes to now; 0 when none was chosen since the last loss of every path in it. */
    public int groupInUse() {
        synchronized (lock) {
            return currentGroup == null ? 0 : currentGroup.number();
        }
    }

    /** The number INFO and TABLE print: the next group if one is set, else the current one, else 1. */
    int groupNumberLocked() {
        if (nextGroup != null) return nextGroup.number();
        if (currentGroup != null) return currentGroup.number();
        return groups.isEmpty() ? 0 : 1;
    }

    PriorityGroup currentGroupLocked() { return currentGroup; }

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
        Effects fx = new Effects();
        event(fx, kind, keyValues);
        fx.run();
    }

    private void event(Effects fx, EventKind kind, Object... keyValues) {
        Map<String, String> details = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) details.put((String) keyValues[i], String.valueOf(keyValues[i + 1]));
        fx.add(() -> {
            try {
                context.raiseEvent(kind, details);
            } catch (RuntimeException e) {
                Logger.warn("multipath {}: could not raise {}: {}", name(), kind, e.getMessage());
            }
        });
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
