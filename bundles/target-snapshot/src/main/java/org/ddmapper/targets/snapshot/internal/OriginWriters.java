package org.ddmapper.targets.snapshot.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;
import org.ddmapper.targets.snapshot.internal.store.DeviceIo;
import org.ddmapper.targets.snapshot.internal.store.DiskHeader;
import org.ddmapper.targets.snapshot.internal.store.StoreFormatException;
import org.tinylog.Logger;

/**
 * What every target that writes an origin ({@code snapshot-origin}, {@code snapshot-merge}) does
 * across a live upgrade of this bundle: hand its successor the snapshots of the origin
 * ({@link #exportState}); as that successor, hold origin writes until they are all back, and after
 * the registry's wait give up on those that are not: a persistent one's header is marked invalid
 * on its COW device (a snapshot that missed copy-outs must not come back valid), a transient one is
 * remembered as given up, then the writes go on. One {@code SNAPSHOT_INVALID} event (reason
 * {@code not_back_after_upgrade}) per snapshot given up, on the origin's device.
 */
final class OriginWriters {
    private final TargetContext context;
    private final OriginGroup group;
    private final long awaitMillis;
    private List<OriginGroup.Awaited> imported;
    private ScheduledFuture<?> deadline;

    OriginWriters(TargetContext context, OriginGroup group, long awaitMillis) {
        this.context = context;
        this.group = group;
        this.awaitMillis = awaitMillis;
    }

    TargetState exportState() { return HandoverState.origin(snapshots()); }

    /** The snapshots of the origin now: the active ones and those still awaited. */
    List<OriginGroup.Awaited> snapshots() {
        List<OriginGroup.Awaited> out = new ArrayList<>(group.awaited());
        for (Snapshot s : group.active()) {
            if (s.merging() || !s.valid()) continue;
            SnapshotArgs a = s.args();
            out.add(new OriginGroup.Awaited(a.cowKey(), a.cow().reference(), a.mode().persistent()));
        }
        return out;
    }

    void importState(TargetState state) { importSnapshots(HandoverState.readOrigin(state)); }

    /** The snapshots the predecessor had (null: none known). */
    void importSnapshots(List<OriginGroup.Awaited> list) {
        if (list != null && !list.isEmpty()) imported = list;
    }

    /** Before the rebuilt table goes live: hold writes for the snapshots not back yet, and arm the deadline. */
    void preresume() {
        List<OriginGroup.Awaited> list = imported;
        imported = null;
        if (list == null) return;
        group.await(list);
        if (group.awaited().isEmpty()) return;
        Logger.info("origin {} of {}: holding writes until its snapshots are back: {}", group.originKey, context.deviceName(), group.awaited());
        deadline = context.scheduler().schedule(() -> {
            Thread t = new Thread(this::giveUp, "snapshot-give-up-" + context.deviceName());
            t.setDaemon(true);
            t.start();
        }, awaitMillis, TimeUnit.MILLISECONDS);
    }

    void destroy() {
        ScheduledFuture<?> d = deadline;
        if (d != null) d.cancel(false);
    }

    private void giveUp() {
        List<OriginGroup.Awaited> gone = group.awaited();
        if (gone.isEmpty()) return;
        for (OriginGroup.Awaited a : gone) {
            Logger.error("origin {} of {}: snapshot on {} is not back {} ms after a live upgrade; invalidating it so that origin writes"
                    + " can go on", group.originKey, context.deviceName(), a.cowReference(), awaitMillis);
            if (a.persistent()) invalidateOnDisk(a.cowReference());
        }
        group.giveUp(gone);
        for (int i = 0; i < gone.size(); i++) {
            context.raise(new EventPayload.SnapshotInvalid("not_back_after_upgrade"));
        }
    }

    /** Clears the valid flag in the header of the store on {@code reference}, keeping its chunk size. */
    private void invalidateOnDisk(String reference) {
        try (BlockDevice cow = context.openDevice(reference)) {
            ByteBuffer chunk0 = DeviceIo.source(cow).read(0, Math.max(512, cow.logicalBlockBytes())).get();
            DiskHeader h = DiskHeader.read(chunk0);
            if (h.magic() != DiskHeader.MAGIC || !h.isValid()) return;
            DeviceIo.write(cow, 0, DiskHeader.of(h.chunkSectors(), false).toChunk(Math.max(512, cow.logicalBlockBytes())), Bio.FUA,
                    "the header of " + reference);
        } catch (StoreFormatException | RuntimeException | java.util.concurrent.ExecutionException e) {
            Logger.error("origin {}: could not invalidate the snapshot store on {}: {}", group.originKey, reference, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
