package org.ddmapper.core.internal;

import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;

/**
 * A device a mapped device's table opened, counting the requests its targets send there into
 * that mapped device's {@link IoStats} for the reference ({@link DeviceCounters}). Everything else
 * is the wrapped device's.
 */
final class CountedDevice extends WrappedDevice {
    private final IoStats stats;

    CountedDevice(BlockDevice inner, IoStats stats) {
        super(inner);
        this.stats = stats;
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
}
