package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.BioJoin;

/**
 * Requests to a {@code snapshot} target (the kernel's snapshot_map). Sectors are absolute
 * (target start + request sector), as the kernel's snapshot and origin targets use them, so the
 * snapshot's sector s is the origin's sector s.
 *
 * <ul>
 * <li>READ: each chunk with an exception is read from its COW chunk, the others from the origin
 *     (tracked, so that an origin write cannot overwrite a chunk a read is still reading); runs of
 *     chunks that lie next to each other on one device are read as one request.
 * <li>WRITE, WRITE_ZEROES: per chunk. A chunk with an exception is written in the COW; one without
 *     gets an exception first — a write covering the whole chunk is itself written to the new COW
 *     chunk instead of a copy, a partial one waits for the copy of the origin chunk.
 * <li>FLUSH: to the COW device (everything the snapshot writes lives there).
 * <li>DISCARD: ignored (completed) unless {@code discard_zeroes_cow}: then a discard of a whole
 *     chunk with an exception zeroes that COW chunk, of part of one discards it there, of a chunk
 *     without one does nothing (no copy-out); with {@code discard_passdown_origin} it also goes to
 *     the origin device directly, making no copy-out (the kernel's behaviour, meant for thin
 *     origins).
 * </ul>
 * An invalid snapshot fails every request with EIO; an overflowed one fails writes.
 */
final class SnapshotIo {
    private final Snapshot s;
    private final long offset;

    SnapshotIo(Snapshot snapshot) {
        this.s = snapshot;
        this.offset = snapshot.context.startSector();
    }

    void map(Bio bio) {
        switch (bio.op()) {
            case FLUSH -> s.args.cow().submit(bio);
            case READ -> read(bio);
            case WRITE, WRITE_ZEROES -> write(bio);
            case DISCARD -> discard(bio);
        }
    }

    /** A part of a request that goes to one device in one piece. */
    private static final class Part {
        final boolean toCow;
        final long bioOffset;
        final long deviceSector;
        long length;
        ReadTracker.Range tracked;

        Part(boolean toCow, long bioOffset, long deviceSector, long length) {
            this.toCow = toCow;
            this.bioOffset = bioOffset;
            this.deviceSector = deviceSector;
            this.length = length;
        }
    }

    private void read(Bio bio) {
        long start = offset + bio.sector();
        List<Part> parts = new ArrayList<>(2);
        boolean usable;
        synchronized (s) {
            usable = s.valid && s.store != null;
            if (usable) plan(start, start + bio.lengthSectors(), parts);
        }
        if (!usable) {
            bio.complete(invalid());
            return;
        }
        Consumer<IoStatus> join = parts.size() == 1 ? bio::complete : new BioJoin(bio, parts.size());
        for (Part p : parts) {
            Bio child = bio.slice(p.bioOffset, p.length, p.deviceSector, p.tracked == null ? join : status -> {
                s.untrack(p.tracked);
                join.accept(status);
            });
            (p.toCow ? s.args.cow() : s.args.origin()).submit(child);
        }
    }

    /** Under the snapshot's lock: where each run of [start, end) is read from; origin parts are tracked. */
    private void plan(long start, long end, List<Part> parts) {
        int shift = s.chunkShift;
        long mask = (1L << shift) - 1;
        for (long sector = start; sector < end; ) {
            long chunk = sector >>> shift;
            long pieceEnd = Math.min(end, (chunk + 1) << shift);
            long newChunk = s.complete.get(chunk);
            boolean toCow = newChunk >= 0;
            long deviceSector = toCow ? (newChunk << shift) + (sector & mask) : sector;
            Part last = parts.isEmpty() ? null : parts.get(parts.size() - 1);
            if (last != null && last.toCow == toCow && last.deviceSector + last.length == deviceSector) {
                last.length += pieceEnd - sector;
            } else {
                parts.add(new Part(toCow, sector - start, deviceSector, pieceEnd - sector));
            }
            sector = pieceEnd;
        }
        for (Part p : parts) {
            if (!p.toCow) p.tracked = s.reads.track(p.deviceSector >>> shift, ((p.deviceSector + p.length - 1) >>> shift) + 1);
        }
    }

    private void write(Bio bio) {
        forEachChunk(bio, this::writeChunk);
    }

    /** One chunk's part of a write (sectors absolute). */
    private void writeChunk(Bio piece, long sector) {
        Bio now = null;
        Pending copy = null;
        IoStatus failed = null;
        synchronized (s) {
            int shift = s.chunkShift;
            long chunk = sector >>> shift;
            long inChunk = sector & ((1L << shift) - 1);
            if (!s.valid || s.store == null) {
                failed = invalid();
            } else if (s.overflowed) {
                failed = IoStatus.error(Errno.EIO, "snapshot " + s.context.deviceName() + " overflowed: its COW device is full");
            } else {
                long newChunk = s.complete.get(chunk);
                if (newChunk >= 0) {
                    now = piece.slice(0, piece.lengthSectors(), (newChunk << shift) + inChunk, piece::complete);
                } else {
                    Pending pe = s.pending.get(chunk);
                    if (pe == null) pe = s.newPending(chunk);
                    if (pe == null) {
                        if (s.args.mode() == SnapshotArgs.StoreMode.PO) s.overflow();
                        else s.invalidate("overflow", "the COW device is full");
                        failed = IoStatus.error(Errno.EIO, "snapshot " + s.context.deviceName() + ": its COW device is full");
                    } else {
                        long cowSector = (pe.newChunk << shift) + inChunk;
                        if (!pe.started && inChunk == 0 && piece.lengthSectors() == 1L << shift) {
                            pe.started = true;
                            pe.fullWrite = piece;
                            Pending full = pe;
                            now = piece.slice(0, piece.lengthSectors(), cowSector, status -> s.copied(full, status.isOk()));
                        } else {
                            pe.snapshotWrites.add(piece.slice(0, piece.lengthSectors(), cowSector, piece::complete));
                            if (!pe.started) {
                                pe.started = true;
                                copy = pe;
                            }
                        }
                    }
                }
            }
        }
        s.afterLock();
        if (failed != null) piece.complete(failed);
        else if (now != null) s.args.cow().submit(now);
        else if (copy != null) CopyOuts.start(List.of(copy));
    }

    private void discard(Bio bio) {
        if (!s.args.discardZeroesCow()) {
            bio.complete(IoStatus.OK);
            return;
        }
        forEachChunk(bio, this::discardChunk);
    }

    private void discardChunk(Bio piece, long sector) {
        long cowSector = -1;
        boolean whole = false;
        boolean failed = false;
        synchronized (s) {
            int shift = s.chunkShift;
            long inChunk = sector & ((1L << shift) - 1);
            long newChunk = s.valid && s.store != null ? s.complete.get(sector >>> shift) : -1;
            failed = !s.valid || s.store == null;
            if (newChunk >= 0) {
                cowSector = (newChunk << shift) + inChunk;
                whole = inChunk == 0 && piece.lengthSectors() == 1L << shift;
            }
        }
        if (failed) {
            piece.complete(invalid());
            return;
        }
        boolean passdown = s.args.discardPassdownOrigin();
        int parts = (cowSector >= 0 ? 1 : 0) + (passdown ? 1 : 0);
        if (parts == 0) {
            piece.complete(IoStatus.OK);
            return;
        }
        Consumer<IoStatus> done = parts == 1 ? piece::complete : new BioJoin(piece, parts);
        if (passdown) s.args.origin().submit(Bio.discard(sector, piece.lengthSectors(), done));
        if (cowSector >= 0)
            s.args.cow().submit(whole ? Bio.writeZeroes(cowSector, piece.lengthSectors(), 0, done) : Bio.discard(cowSector, piece.lengthSectors(), done));
    }

    /** Cuts a request at chunk boundaries; each part's completion joins the request's. */
    private void forEachChunk(Bio bio, ChunkAction action) {
        int shift;
        synchronized (s) {
            if (s.store == null) {
                bio.complete(invalid());
                return;
            }
            shift = s.chunkShift;
        }
        long start = offset + bio.sector();
        long end = start + bio.lengthSectors();
        long chunkSectors = 1L << shift;
        int parts = (int) (((end - 1) >>> shift) - (start >>> shift) + 1);
        if (parts == 1) {
            action.run(bio, start);
            return;
        }
        BioJoin join = new BioJoin(bio, parts);
        for (long sector = start; sector < end; ) {
            long pieceEnd = Math.min(end, ((sector >>> shift) + 1) * chunkSectors);
            action.run(bio.slice(sector - start, pieceEnd - sector, sector - offset, join), sector);
            sector = pieceEnd;
        }
    }

    @FunctionalInterface
    private interface ChunkAction {
        void run(Bio piece, long absoluteSector);
    }

    private IoStatus invalid() {
        return IoStatus.error(Errno.EIO, "snapshot " + s.context.deviceName() + " is invalid");
    }
}
