package org.ddmapper.core.internal;

import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.TargetContext;

/** The core's side of one target: where it sits and how it reaches events, timers and devices. */
final class CoreTargetContext implements TargetContext {
    private final DeviceHost host;
    private final MappedDevice device;
    private final String deviceName;
    private final int index;
    private final long startSector;
    private final long lengthSectors;
    private final boolean handover;

    CoreTargetContext(DeviceHost host, MappedDevice device, int index, long startSector, long lengthSectors) {
        this.host = host;
        this.device = device;
        this.deviceName = device.name();
        this.index = index;
        this.startSector = startSector;
        this.lengthSectors = lengthSectors;
        this.handover = device.rebuilding();
    }

    @Override public String deviceName() { return deviceName; }

    @Override public int targetIndex() { return index; }

    @Override public long startSector() { return startSector; }

    @Override public long lengthSectors() { return lengthSectors; }

    @Override public boolean readOnly() { return false; }

    @Override public boolean rebuiltForHandover() { return handover; }

    @Override
    public void raiseEvent(EventKind kind, Map<String, String> details) {
        device.raise(kind, index, details);
    }

    @Override public ScheduledExecutorService scheduler() { return host.scheduler(); }

    @Override
    public BlockDevice openDevice(String reference) {
        return host.openReference(device, reference);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        return host.adoptSocket(reference, socket, negotiated);
    }
}
