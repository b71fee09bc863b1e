package org.ddmapper.core.internal;

import java.util.List;
import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Extent;

/**
 * A device a target opened through its context while it lives (a path reopened after a
 * reconnect): counted among the target's devices — deps, stacking order, cycle checks — until
 * the target closes it. Everything else is the wrapped device's.
 */
final class TrackedDevice implements BlockDevice {
    final BlockDevice inner;
    private final Set<TrackedDevice> live;

    TrackedDevice(BlockDevice inner, Set<TrackedDevice> live) {
        this.inner = inner;
        this.live = live;
        live.add(this);
    }

    @Override public String reference() { return inner.reference(); }

    @Override public long sizeSectors() { return inner.sizeSectors(); }

    @Override public int logicalBlockBytes() { return inner.logicalBlockBytes(); }

    @Override public boolean readOnly() { return inner.readOnly(); }

    @Override public boolean supports(BioOp op) { return inner.supports(op); }

    @Override public List<Extent> allocation(long startSector, long lengthSectors) { return inner.allocation(startSector, lengthSectors); }

    @Override public void submit(Bio bio) { inner.submit(bio); }

    @Override
    public void close() {
        live.remove(this);
        inner.close();
    }

    @Override
    public String toString() { return inner.toString(); }
}
