package org.ddmapper.targets.multipath.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;
import org.tinylog.Logger;

/**
 * The multipath target (dm-mpath): priority groups of paths to the same storage, one group in
 * use at a time, a selector spreading I/O over the group's active paths. This class is its I/O
 * side and its face to the core and the path monitor; the path and group state lives in
 * {@link PathGroups}, its events in {@link Notices}.
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
 * <p>Locking: all path and group state is guarded by the state's lock. Nothing that can call out
 * (events, the monitor, device submits, completions) runs under it: such work is collected in
 * {@link Effects} and run after the lock is released, events first, in the order of the state
 * changes. Messages check "not suspended" and act under the same lock ({@link #act}), so a
 * suspend (which sets the flag under it) never runs between the two.
 */
public final class MultipathTarget implements Target, MonitoredMap, PathGroups.Redispatch {
    static final String TYPE = "multipath";
    private static final long REQUEUE_RETRY_MILLIS = 5;

    private final TargetContext context;
    private final Features features;
    private final List<String> hwHandler;
    private final MapRegistry registry;
    private final Notices notices;
    private final PathGroups state;
    private final HangDetector hangDetector;
    private final long pathIoTimeoutMillis;

    MultipathTarget(TargetContext context, Features features, List<String> hwHandler, List<PriorityGroup> groups,
                    int initialGroup, MapRegistry registry) {
        this.context = context;
        this.features = features;
        this.hwHandler = List.copyOf(hwHandler);
        this.registry = registry;
        this.notices = new Notices(context, this::watcher);
        this.state = new PathGroups(this, groups, initialGroup, features.queueIfNoPath(), notices, this);
        this.pathIoTimeoutMillis = features.effectivePathIoTimeoutMillis();
        this.hangDetector = pathIoTimeoutMillis > 0
                ? new HangDetector(pathIoTimeoutMillis, context.scheduler(), this::timedOut) : null;
    }

    /** Builds a target from its table arguments (see {@link MultipathTableParser}); {@code registry} may be null (no monitor). */
    public static MultipathTarget create(TargetContext context, TableArgs args, MapRegistry registry) {
        return MultipathTableParser.parse(context, args, registry);
    }

    // ---------------------------------------------------------------- I/O

    @Override
    public void map(Bio bio) { dispatch(bio); }

    /** Sends a request down a path, or queues, requeues or fails it when there is none. */
    @Override
    public void dispatch(Bio bio) {
        Effects fx = effects();
        PathIo io = null;
        IoStatus immediate = null;
        ByteBuffer bounce = null;
        if (hangDetector != null && bio.op().hasData()) {
            bounce = ByteBuffer.allocate((int) bio.lengthBytes());
            if (bio.op() == BioOp.WRITE) bounce.put(bio.data().duplicate()).flip();
        }
        synchronized (state.lock) {
            if (state.destroyedLocked()) {
                immediate = IoStatus.error(Errno.ENODEV, "multipath: the map was torn down");
            } else {
                Path path = state.choosePathLocked(bio.lengthBytes());
                if (path == null) {
                    if (state.queueingNowLocked() && state.pushBackLocked()) immediate = IoStatus.REQUEUE;
                    else if (state.queueingNowLocked()) state.queueLocked(bio);
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
    @Override
    public void left(PathIo io) {
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
            if (io.bounce != null && bio.op() == BioOp.READ) bio.data().put(io.bounce.duplicate());
            bio.complete(IoStatus.OK);
        } else if (status.isRequeue()) {
            retryLater(bio);
        } else if (status.errno().isPathError()) {
            failPath(io.path, io.generation, bio.op().name().toLowerCase() + " failed: " + status.errno()
                    + (status.message() == null ? "" : " (" + status.message() + ")"));
            dispatch(bio);
        } else {
            bio.complete(status);
        }
    }

    private void timedOut(PathIo io) {
        if (!io.end()) return;
        left(io);
        failPath(io.path, io.generation, io.bio.op().name().toLowerCase() + " timed out after " + pathIoTimeoutMillis + " ms");
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

    private IoStatus noPathError() {
        return IoStatus.error(Errno.EIO, "multipath: no usable path (" + paths().size() + " failed) and queue_if_no_path is off");
    }

    /** Fails a path on an I/O outcome, unless its device was replaced since ({@code generation}). */
    private void failPath(Path path, int generation, String reason) {
        change(fx -> {
            if (path.generation() == generation) state.failLocked(path, reason, false, fx);
        });
    }

    // ---------------------------------------------------------------- changes (monitor, messages)

    /** Runs a state change under the lock, then its effects (events first). */
    private void change(Consumer<Effects> change) {
        Effects fx = effects();
        synchronized (state.lock) {
            change.accept(fx);
        }
        fx.run();
    }

    /**
     * Runs a message's state changes under the lock, refused with EBUSY while the device is
     * suspended: the check and the change are one step, so a suspend or table swap (presuspend
     * sets the flag under the same lock) cannot slip in between. The effects run afterwards.
     */
    void act(String verb, Consumer<Effects> change) {
        change(fx -> {
            if (state.suspendedLocked())
                throw new DmException(Errno.EBUSY, "multipath: '" + verb + "' refused: the device is suspended");
            change.accept(fx);
        });
    }

    @Override
    public void failPath(Path path, String reason) { change(fx -> state.failLocked(path, reason, false, fx)); }

    @Override
    public boolean reinstatePath(Path path, String reason, int expectedFailCount) {
        boolean[] done = new boolean[1];
        change(fx -> done[0] = (expectedFailCount < 0 || path.failCount() == expectedFailCount) && state.reinstateLocked(path, reason, fx));
        return done[0];
    }

    @Override
    public boolean replaceDevice(Path path, BlockDevice fresh, boolean reinstate, String reason, int expectedFailCount) {
        checkSize(path.reference(), fresh);
        boolean[] done = new boolean[1];
        change(fx -> done[0] = replaceLocked(path, fresh, reinstate, reason, expectedFailCount, "reopened", fx));
        if (!done[0]) closeQuietly(fresh);
        return done[0];
    }

    /**
     * Puts a freshly opened device under a path and reinstates it unless {@code reinstate} is
     * false; refused when the map is gone or the fail count is no longer {@code expectedFailCount}
     * (-1: any). The replaced device is closed as soon as none of its requests is in flight any
     * more, whoever opened it (closing is idempotent). {@code transport} is what {@code show} tells.
     */
    boolean replaceLocked(Path path, BlockDevice device, boolean reinstate, String reason, int expectedFailCount,
                          String transport, Effects fx) {
        if (state.destroyedLocked() || (expectedFailCount >= 0 && path.failCount() != expectedFailCount)) return false;
        BlockDevice previous = path.swapDevice(device, true, transport);
        if (previous != null && previous != device) {
            path.retire(previous);
            fx.add(() -> closeRetired(path));
        }
        if (reinstate) state.reinstateLocked(path, reason, fx);
        return true;
    }

    @Override
    public boolean setQueueIfNoPath(boolean queue, String reason) {
        boolean[] changed = new boolean[1];
        change(fx -> changed[0] = state.setQueueLocked(queue, reason, fx));
        return changed[0];
    }

    @Override
    public void switchGroup(int number, String reason) { change(fx -> state.switchGroupLocked(number, reason)); }

    @Override
    public void raise(EventPayload event) { change(fx -> notices.event(event)); }

    /** Refuses a device smaller than the target. */
    void checkSize(String reference, BlockDevice device) {
        if (device.sizeSectors() < context.lengthSectors())
            throw new DmException(Errno.EINVAL, "multipath: path '" + reference + "' has " + device.sizeSectors()
                    + " sectors, fewer than the target's " + context.lengthSectors());
    }

    @Override
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

    private Effects effects() { return new Effects(notices::publish); }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void presuspend(boolean noflush) {
        Effects fx = effects();
        List<Bio> handBack;
        synchronized (state.lock) {
            handBack = state.suspendLocked(noflush, fx);
        }
        fx.run();
        for (Bio bio : handBack) bio.complete(IoStatus.REQUEUE);
    }

    @Override
    public void resume() {
        synchronized (state.lock) {
            state.resumeLocked();
        }
        if (registry != null) registry.live(this);
    }

    @Override
    public void destroy() {
        List<Bio> orphans;
        List<BlockDevice> owned = new ArrayList<>();
        synchronized (state.lock) {
            orphans = state.destroyLocked();
            for (Path p : paths()) {
                if (p.deviceOwned() && p.device() != null) owned.add(p.device());
                owned.addAll(p.takeRetired()); // replaced devices whose requests never ended
            }
        }
        if (registry != null) registry.gone(this);
        if (hangDetector != null) hangDetector.stop();
        for (Bio bio : orphans) bio.fail(Errno.EIO, "multipath: map torn down with this request waiting for a path");
        owned.forEach(MultipathTarget::closeQuietly);
    }

    // ---------------------------------------------------------------- status, messages, handover

    @Override
    public String status(StatusType type) {
        synchronized (state.lock) {
            return type == StatusType.INFO ? StatusText.info(this) : StatusText.table(this);
        }
    }

    @Override
    public String message(Message message) { return MessageHandler.handle(this, message); }

    @Override
    public Optional<TargetState> exportState() {
        synchronized (state.lock) {
            return Optional.of(StateCodec.export(this));
        }
    }

    @Override
    public void importState(TargetState state) {
        change(fx -> StateCodec.apply(this, state));
    }

    // ---------------------------------------------------------------- views for the monitor, status and messages

    TargetContext context() { return context; }

    /** The path and group state (its lock guards it; status views and messages read and change it under that lock). */
    PathGroups state() { return state; }

    Features features() { return features; }

    List<String> hwHandler() { return hwHandler; }

    /** The path monitor watching this map (NONE without one). */
    MapWatcher watcher() { return registry == null ? MapWatcher.NONE : registry.watcher(); }

    @Override
    public String name() { return context.deviceName(); }

    @Override
    public List<PriorityGroup> groups() { return state.groups(); }

    @Override
    public List<Path> paths() { return state.paths(); }

    @Override
    public int validPaths() {
        synchronized (state.lock) {
            return state.validPathsLocked();
        }
    }

    @Override
    public int failCount(Path path) {
        synchronized (state.lock) {
            return path.failCount();
        }
    }

    @Override
    public boolean isSuspended() {
        synchronized (state.lock) {
            return state.suspendedLocked();
        }
    }

    @Override
    public int groupInUse() {
        synchronized (state.lock) {
            PriorityGroup g = state.groupInUseLocked();
            return g == null ? 0 : g.number();
        }
    }

    /** Requests waiting for a path now. */
    public int queuedRequests() {
        synchronized (state.lock) {
            return state.queuedLocked();
        }
    }

    public boolean queueIfNoPath() {
        synchronized (state.lock) {
            return state.queueIfNoPathLocked();
        }
    }

    /** The group in use (0 before the first I/O or with no path), as INFO's group field counts it. */
    public int currentGroupNumber() {
        synchronized (state.lock) {
            return state.groupNumberLocked();
        }
    }
}
