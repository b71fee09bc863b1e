package org.ddmapper.core.internal;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Extent;

/**
 * A device the core wraps around one a table opened ({@link TrackedDevice}, {@link CountedDevice}):
 * everything goes to the wrapped device unless a subclass says otherwise, and {@link #unwrap} sees
 * through every layer where the core asks what a device really is (an opened mapped device, a file).
 */
abstract class WrappedDevice implements BlockDevice {
    final BlockDevice inner;

    WrappedDevice(BlockDevice inner) {
        this.inner = inner;
    }

    /** The device under any wrappers. */
    static BlockDevice unwrap(BlockDevice d) {
        while (d instanceof WrappedDevice w) d = w.inner;
        return d;
    }

    @Override public String reference() { return inner.reference(); }

    @Override public long sizeSectors() { return inner.sizeSectors(); }

    @Override public int logicalBlockBytes() { return inner.logicalBlockBytes(); }

    @Override public boolean readOnly() { return inner.readOnly(); }

    @Override public boolean supports(BioOp op) { return inner.supports(op); }

    @Override public List<Extent> allocation(long startSector, long lengthSectors) { return inner.allocation(startSector, lengthSectors); }

    @Override public void submit(Bio bio) { inner.submit(bio); }

    @Override public void close() { inner.close(); }

    @Override public String toString() { return inner.toString(); }
}
