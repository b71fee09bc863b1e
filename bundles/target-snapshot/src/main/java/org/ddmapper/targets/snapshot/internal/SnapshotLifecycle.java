package org.ddmapper.targets.snapshot.internal;

import java.util.List;
import java.util.Optional;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;
import org.ddmapper.targets.snapshot.internal.store.TransientStore;
import org.tinylog.Logger;

/**
 * The life of a {@code snapshot} or {@code snapshot-merge} table, shared by both targets.
 *
 * <ul>
 * <li>load: the arguments are checked and the snapshot is registered with its origin's group,
 *     not active (the kernel's pairing rules refuse a third table of one COW). Nothing is read.
 * <li>preresume: when another table of the same COW is active, it must be suspended and its
 *     exceptions are taken over at resume (the kernel's handover); else the store is read from the
 *     COW (or the state a previous version of this code handed over is used). A store that cannot
 *     be read vetoes the resume.
 * <li>resume: with the origin's writes frozen and drained, the handover happens and the snapshot
 *     becomes active.
 * <li>destroy: unregistered; waits for its copy-outs in flight before the core closes the COW.
 * </ul>
 */
abstract class SnapshotLifecycle implements Target {
    /** How long a table going away waits for its copy-outs in flight. */
    static final long DRAIN_MILLIS = 60_000;

    final TargetContext context;
    final Snapshot snapshot;
    final OriginGroup group;
    private final SnapshotRegistry registry;
    private Snapshot handoverFrom;
    private HandoverState.SnapshotState imported;
    private boolean exported;
    /** Whether this table announced the end of its merge (a merge target, carried over a live upgrade). */
    volatile boolean mergeAnnounced;

    SnapshotLifecycle(TargetContext context, TableArgs args, SnapshotRegistry registry, boolean merging) {
        SnapshotArgs a = SnapshotArgs.parse(context, args, merging ? "snapshot-merge" : "snapshot");
        this.context = context;
        this.registry = registry;
        this.snapshot = new Snapshot(a, merging, context);
        this.group = registry.group(a.originKey());
        try {
            group.load(snapshot);
        } catch (DmException e) {
            registry.releaseIfIdle(group);
            throw args.error(e.errno(), e.getMessage());
        }
    }

    @Override
    public void preresume() {
        if (snapshot.isActive()) {
            if (group.waitingSuccessor(snapshot) != null)
                throw new DmException(Errno.EINVAL, "Unable to resume snapshot source until handover completes. (a table loaded on '"
                        + snapshot.args.cow().reference() + "' waits to take it over)");
            return;
        }
        Snapshot src = group.handoverSource(snapshot);
        if (src != null) {
            if (!src.suspended())
                throw new DmException(Errno.EINVAL, "Unable to perform snapshot handover until source is suspended. (" + src
                        + " is active)");
            handoverFrom = src;
            return;
        }
        if (!snapshot.hasStore()) loadStore();
    }

    private void loadStore() {
        SnapshotArgs a = snapshot.args;
        HandoverState.SnapshotState s = imported;
        boolean givenUp = group.wasGivenUp(a.cowKey());
        if (s != null && !a.mode().persistent()) {
            ChunkMap map = new ChunkMap();
            s.exceptions().forEach(map::putIfAbsent);
            snapshot.useStore(new TransientStore(s.chunkSectors(), a.cow().sizeSectors(), s.nextFreeSector()), map, s.valid() && !givenUp,
                    s.overflowed(), s.mergeFailed());
            return;
        }
        StoreLoading.Loaded loaded = StoreLoading.load(a, context.deviceName());
        boolean valid = loaded.valid() && (s == null || s.valid()) && !givenUp;
        snapshot.useStore(loaded.store(), loaded.exceptions(), valid, s != null && s.overflowed(), s != null && s.mergeFailed());
    }

    @Override
    public void resume() {
        snapshot.suspended(false);
        if (!snapshot.isActive()) {
            group.activate(snapshot, () -> {
                Snapshot src = handoverFrom;
                handoverFrom = null;
                if (src == null) return;
                if (!src.awaitNoPending(DRAIN_MILLIS)) Logger.warn("{}: copy-outs of {} still pending at handover", snapshot, src);
                if (src.hasStore()) src.handOverTo(snapshot);
                else loadStore();
            });
        }
        resumed();
    }

    /** After the snapshot is active (the merge target starts merging). */
    void resumed() {}

    @Override
    public void postsuspend() { snapshot.suspended(true); }

    @Override
    public String status(StatusType type) {
        return type == StatusType.INFO ? snapshot.infoText() : snapshot.tableText();
    }

    @Override
    public Optional<TargetState> exportState() {
        if (!snapshot.awaitNoPending(DRAIN_MILLIS)) Logger.warn("{}: copy-outs still pending while handing over", snapshot);
        exported = true;
        boolean transientStore = snapshot.store() instanceof TransientStore;
        TransientStore t = transientStore ? (TransientStore) snapshot.store() : null;
        return Optional.of(HandoverState.snapshot(new HandoverState.SnapshotState(snapshot.valid(), snapshot.overflowed(),
                snapshot.mergeFailed(), mergeAnnounced, snapshot.chunkSectors(), t == null ? 0 : t.nextFreeSector(),
                t == null ? java.util.Map.of() : snapshot.exceptions(), originSnapshots())));
    }

    /** The other snapshots of the origin, for a target that writes the origin too (the merge target). */
    List<OriginGroup.Awaited> originSnapshots() { return List.of(); }

    /** The state handed over, for subclasses (null when there was none). */
    HandoverState.SnapshotState imported() { return imported; }

    @Override
    public void importState(TargetState state) {
        HandoverState.SnapshotState s = HandoverState.readSnapshot(state);
        if (s == null) return;
        imported = s;
        mergeAnnounced = s.mergeAnnounced();
    }

    @Override
    public void destroy() {
        boolean wasActive = snapshot.isActive();
        group.unload(snapshot);
        if (exported && wasActive && !snapshot.merging) {
            // a live upgrade: origin writes of the old origin target wait for the new table instead of skipping this snapshot
            SnapshotArgs a = snapshot.args;
            group.await(List.of(new OriginGroup.Awaited(a.cowKey(), a.cow().reference(), a.mode().persistent())));
        }
        if (!snapshot.awaitNoPending(DRAIN_MILLIS)) Logger.warn("{}: copy-outs still pending when its table went away", snapshot);
        registry.releaseIfIdle(group);
    }
}
