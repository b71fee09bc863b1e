package org.ddmapper.core.internal;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Extent;

/**
 * A device a mapped device's table opened, counting the requests its targets send there into
 * that mapped device's {@link IoStats} for the reference ({@link DeviceCounters}). Everything else
 * is the wrapped device's; {@link #unwrap} sees through it (and through {@link TrackedDevice})
 * where the core asks what a device really is.
 */
final class CountedDevice implements BlockDevice {
    final BlockDevice inner;
    private final IoStats stats;

    CountedDevice(BlockDevice inner, IoStats stats) {
        this.inner = inner;
        this.stats = stats;
    }

    /** The device under any counting or tracking wrappers. */
    static BlockDevice unwrap(BlockDevice d) {
        while (true) {
            if (d instanceof CountedDevice c) d = c.inner;
            else if (d instanceof TrackedDevice t) d = t.inner;
            else return d;
        }
    }

    @Override
    public void submit(Bio bio) {
        long start = System.nanoTime();
        BioOp op = bio.op();
        long sectors = bio.lengthSectors();
        stats.started();
        inner.submit(bio.withCompletion(status -> {
            stats.done(op, sectors, status.isError(), start);
            stats.completed();
            bio.complete(status);
        }));
    }

    @Override public String reference() { return inner.reference(); }

    @Override public long sizeSectors() { return inner.sizeSectors(); }

    @Override public int logicalBlockBytes() { return inner.logicalBlockBytes(); }

    @Override public boolean readOnly() { return inner.readOnly(); }

    @Override public boolean supports(BioOp op) { return inner.supports(op); }

    @Override public List<Extent> allocation(long startSector, long lengthSectors) { return inner.allocation(startSector, lengthSectors); }

    @Override public void close() { inner.close(); }

    @Override public String toString() { return inner.toString(); }
}
