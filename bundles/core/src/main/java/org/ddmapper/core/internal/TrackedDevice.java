package org.ddmapper.core.internal;

import java.util.Set;
import org.ddmapper.api.BlockDevice;

/**
 * A device a target opened through its context while it lives (a path reopened after a
 * reconnect): counted among the target's devices — deps, stacking order, cycle checks — until
 * the target closes it. Everything else is the wrapped device's.
 */
final class TrackedDevice extends WrappedDevice {
    private final Set<TrackedDevice> live;

    TrackedDevice(BlockDevice inner, Set<TrackedDevice> live) {
        super(inner);
        this.live = live;
        live.add(this);
    }

    @Override
    public void close() {
        live.remove(this);
        inner.close();
    }
}
