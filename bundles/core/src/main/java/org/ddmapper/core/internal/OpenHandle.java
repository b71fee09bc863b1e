package org.ddmapper.core.internal;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;

/**
 * A counted opener of one device instance (an NBD connection, a stacked device's table): I/O
 * goes to whatever table that instance has live; a rename does not move it; after the device is
 * removed or the handle closed, requests fail with ENODEV. What it offers (read-only, logical
 * block, native operations) is the live table's, as {@code info} shows it.
 */
final class OpenHandle implements DeviceManager.OpenDevice {
    private final MappedDevice device;
    private final String reference;
    private final AtomicBoolean closed = new AtomicBoolean();

    OpenHandle(MappedDevice device, String reference) {
        this.device = device;
        this.reference = reference;
    }

    MappedDevice device() { return device; }

    /** Whether the opener let go of it (a target that replaced the device). */
    boolean isClosed() { return closed.get(); }

    @Override public long id() { return device.id(); }

    @Override public String name() { return device.name(); }

    @Override public String reference() { return reference; }

    @Override public long sizeSectors() { return device.sizeSectors(); }

    @Override public boolean readOnly() { return device.readOnly(); }

    @Override public int logicalBlockBytes() { return device.logicalBlockBytes(); }

    @Override public boolean supports(BioOp op) { return device.supports(op); }

    @Override
    public List<Extent> allocation(long startSector, long lengthSectors) {
        if (closed.get()) throw new DmException(Errno.ENODEV, "'" + reference + "' was closed");
        return device.allocation(startSector, lengthSectors);
    }

    @Override
    public void submit(Bio bio) {
        if (closed.get()) {
            bio.fail(Errno.ENODEV, "'" + reference + "' was closed");
            return;
        }
        device.submit(bio);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) device.closed();
    }

    @Override
    public String toString() { return reference; }
}
