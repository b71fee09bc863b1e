package org.ddmapper.targets.linear;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Extent;
import org.ddmapper.api.ExtentList;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.BioJoin;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;

/**
 * A striped target. Reads and writes are split at chunk boundaries, one part per chunk, each
 * keeping the request's FUA flag so every stripe makes its own part durable. A flush goes to
 * every stripe. A discard or write-zeroes covers one contiguous range on each stripe, so it
 * becomes one part per stripe. Allocation is asked chunk by chunk of each chunk's stripe. Each stripe counts its errors (EOPNOTSUPP aside, as the kernel
 * does): INFO shows D for a stripe that ever failed, and each of a stripe's first
 * {@value #ERROR_EVENT_LIMIT} errors raises a STRIPE_ERROR event. The error counts are handed to
 * the next version of this code in a live upgrade (a reload starts from zero, as in the kernel).
 */
final class Striped implements Target {
    /** The kernel's DM_IO_ERROR_THRESHOLD: errors beyond it are counted but raise no event. */
    static final int ERROR_EVENT_LIMIT = 15;
    /** Format of {@link #exportState()}: int stripe count, then one int error count per stripe. */
    static final int STATE_FORMAT = 1;

    private final TargetContext context;
    private final StripeGeometry geometry;
    private final DeviceArea[] areas;
    private final AtomicIntegerArray errors;

    Striped(TargetContext context, StripeGeometry geometry, DeviceArea[] areas) {
        this.context = context;
        this.geometry = geometry;
        this.areas = areas;
        this.errors = new AtomicIntegerArray(areas.length);
    }

    @Override
    public void map(Bio bio) {
        switch (bio.op()) {
            case FLUSH -> toEveryStripe(bio);
            case DISCARD, WRITE_ZEROES -> rangePerStripe(bio);
            case READ, WRITE -> splitAtChunks(bio);
        }
    }

    private void toEveryStripe(Bio flush) {
        BioJoin join = new BioJoin(flush, areas.length);
        for (int i = 0; i < areas.length; i++) areas[i].device().submit(Bio.flush(counted(i, join)));
    }

    private void rangePerStripe(Bio bio) {
        long[] begin = new long[areas.length];
        long[] end = new long[areas.length];
        int parts = 0;
        for (int i = 0; i < areas.length; i++) {
            begin[i] = geometry.boundOnStripe(bio.sector(), i);
            end[i] = geometry.boundOnStripe(bio.endSector(), i);
            if (end[i] > begin[i]) parts++;
        }
        if (parts == 0) {
            bio.complete(IoStatus.OK);
            return;
        }
        BioJoin join = new BioJoin(bio, parts);
        for (int i = 0; i < areas.length; i++) {
            if (end[i] <= begin[i]) continue;
            areas[i].device().submit(Bio.of(bio.op(), areas[i].offsetSectors() + begin[i], end[i] - begin[i], null,
                    bio.flags(), counted(i, join)));
        }
    }

    private void splitAtChunks(Bio bio) {
        long start = bio.sector();
        long end = bio.endSector();
        if (end == start) {
            bio.complete(IoStatus.OK);
            return;
        }
        int parts = geometry.chunksTouched(start, end);
        Consumer<IoStatus> whole = parts == 1 ? bio::complete : new BioJoin(bio, parts);
        for (long at = start; at < end; ) {
            long partEnd = Math.min(end, geometry.chunkEnd(at));
            int stripe = geometry.stripeOf(at);
            long target = areas[stripe].offsetSectors() + geometry.sectorOnStripe(at);
            areas[stripe].device().submit(bio.slice(at - start, partEnd - at, target, counted(stripe, whole)));
            at = partEnd;
        }
    }

    /** Each chunk's allocation from its stripe, runs merged across chunks; stops where a stripe's answer stopped short or the runs are full. */
    @Override
    public List<Extent> allocation(long startSector, long lengthSectors) {
        long end = startSector + lengthSectors;
        ExtentList out = new ExtentList(startSector, lengthSectors);
        for (long at = startSector; ; at = out.endSector()) {
            int stripe = geometry.stripeOf(at);
            long partEnd = Math.min(end, geometry.chunkEnd(at));
            if (!out.addAll(areas[stripe].device().allocation(areas[stripe].offsetSectors() + geometry.sectorOnStripe(at), partEnd - at)))
                return out.toList();
        }
    }

    /** A part's completion: counts a stripe's error, then passes the outcome on. */
    private Consumer<IoStatus> counted(int stripe, Consumer<IoStatus> then) {
        return status -> {
            if (status.isError() && status.errno() != Errno.EOPNOTSUPP) stripeFailed(stripe, status);
            then.accept(status);
        };
    }

    private void stripeFailed(int stripe, IoStatus status) {
        int count = errors.incrementAndGet(stripe);
        if (count < ERROR_EVENT_LIMIT)
            context.raise(new EventPayload.StripeError(stripe, areas[stripe].device().reference(), count, status.errno()));
    }

    @Override
    public Optional<TargetState> exportState() {
        ByteBuffer counts = ByteBuffer.allocate(4 * (1 + areas.length)).putInt(areas.length);
        for (int i = 0; i < areas.length; i++) counts.putInt(errors.get(i));
        return Optional.of(new TargetState("striped", STATE_FORMAT, counts.array()));
    }

    /** Takes the error counts over from a predecessor with the same number of stripes. */
    @Override
    public void importState(TargetState state) {
        if (!state.type().equals("striped") || state.formatVersion() != STATE_FORMAT) return;
        ByteBuffer counts = ByteBuffer.wrap(state.data());
        if (counts.remaining() != 4 * (1 + areas.length) || counts.getInt() != areas.length) return;
        for (int i = 0; i < areas.length; i++) errors.set(i, counts.getInt());
    }

    @Override
    public String status(StatusType type) {
        StringBuilder sb = new StringBuilder().append(areas.length);
        if (type == StatusType.TABLE) {
            sb.append(' ').append(geometry.chunkSectors());
            for (DeviceArea area : areas) sb.append(' ').append(area.tableText());
        } else {
            for (DeviceArea area : areas) sb.append(' ').append(area.reference());
            sb.append(" 1 ");
            for (int i = 0; i < areas.length; i++) sb.append(errors.get(i) > 0 ? 'D' : 'A');
        }
        return sb.toString();
    }
}
