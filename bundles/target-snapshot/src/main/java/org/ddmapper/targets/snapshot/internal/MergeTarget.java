package org.ddmapper.targets.snapshot.internal;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.BioJoin;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;

/**
 * A {@code snapshot-merge} table, loaded on the origin's device in place of {@code snapshot-origin}
 * (the kernel's snapshot_merge_map): a chunk that still has an exception is read and written in the
 * COW — a write to the run being merged waits and then goes to the origin —, every other chunk is
 * the origin's, and writes to it copy out into the origin's other snapshots. FLUSH goes to both
 * devices; DISCARD does nothing any more. An invalid snapshot sends everything to the origin.
 * While it serves, the {@link Merger} copies the exceptions back in the background.
 */
public final class MergeTarget extends SnapshotLifecycle {
    private final Merger merger;
    private final OriginWriters writers;

    public MergeTarget(TargetContext context, TableArgs args, SnapshotRegistry registry) {
        super(context, args, registry, true);
        this.merger = new Merger(this);
        this.writers = new OriginWriters(context, group, registry.awaitMillis());
        group.originAttached();
    }

    @Override
    public void map(Bio bio) {
        switch (bio.op()) {
            case FLUSH -> {
                BioJoin both = new BioJoin(bio, 2);
                snapshot.args.origin().submit(Bio.flush(both));
                snapshot.args.cow().submit(Bio.flush(both));
            }
            case DISCARD -> bio.complete(IoStatus.OK);
            default -> forEachChunk(bio);
        }
    }

    private void forEachChunk(Bio bio) {
        long offset = context.startSector();
        long start = offset + bio.sector();
        long end = start + bio.lengthSectors();
        int shift;
        synchronized (snapshot) {
            shift = snapshot.chunkShift;
        }
        int parts = (int) (((end - 1) >>> shift) - (start >>> shift) + 1);
        if (parts == 1) {
            chunk(bio, start);
            return;
        }
        BioJoin join = new BioJoin(bio, parts);
        for (long sector = start; sector < end; ) {
            long pieceEnd = Math.min(end, ((sector >>> shift) + 1) << shift);
            chunk(bio.slice(sector - start, pieceEnd - sector, sector - offset, join), sector);
            sector = pieceEnd;
        }
    }

    /** One chunk's part (absolute {@code sector}). */
    private void chunk(Bio piece, long sector) {
        boolean write = piece.op().isWrite();
        Bio toCow = null;
        boolean queued = false;
        synchronized (snapshot) {
            int shift = snapshot.chunkShift;
            long chunk = sector >>> shift;
            long newChunk = snapshot.valid && snapshot.store != null ? snapshot.complete.get(chunk) : -1;
            if (newChunk >= 0) {
                if (write && merger.merging(chunk)) {
                    merger.waitingForRun.add(piece.slice(0, piece.lengthSectors(), sector, piece::complete));
                    queued = true;
                } else if (write) {
                    ReadTracker.Range range = snapshot.reads.track(chunk, chunk + 1);
                    toCow = piece.slice(0, piece.lengthSectors(), (newChunk << shift) + (sector & ((1L << shift) - 1)), status -> {
                        snapshot.untrack(range);
                        piece.complete(status);
                    });
                } else {
                    toCow = piece.slice(0, piece.lengthSectors(), (newChunk << shift) + (sector & ((1L << shift) - 1)), piece::complete);
                }
            }
        }
        if (queued) return;
        if (toCow != null) snapshot.args.cow().submit(toCow);
        else if (write) OriginWrites.write(group, this, snapshot.args.origin(), piece, sector);
        else snapshot.args.origin().submit(piece.slice(0, piece.lengthSectors(), sector, piece::complete));
    }

    @Override
    public void preresume() {
        super.preresume();
        writers.preresume();
    }

    @Override
    void resumed() { merger.start(); }

    @Override
    public void presuspend(boolean noflush) {
        group.requeue(this);
        merger.stop();
    }

    @Override
    List<OriginGroup.Awaited> originSnapshots() { return writers.snapshots(); }

    @Override
    public void importState(TargetState state) {
        super.importState(state);
        HandoverState.SnapshotState s = imported();
        if (s != null) writers.importSnapshots(s.originSnapshots());
    }

    @Override
    public void destroy() {
        merger.stop();
        writers.destroy();
        group.requeue(this);
        group.originDetached();
        super.destroy();
    }
}
