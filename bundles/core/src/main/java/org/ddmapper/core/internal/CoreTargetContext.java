package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.Copier;
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
    /** Devices opened through this context and not closed yet. */
    private final Set<TrackedDevice> opened = ConcurrentHashMap.newKeySet();

    CoreTargetContext(DeviceHost host, MappedDevice device, int index, long startSector, long lengthSectors, boolean handover) {
        this.host = host;
        this.device = device;
        this.deviceName = device.name();
        this.index = index;
        this.startSector = startSector;
        this.lengthSectors = lengthSectors;
        this.handover = handover;
    }

    @Override public String deviceName() { return deviceName; }

    @Override public int targetIndex() { return index; }

    @Override public long startSector() { return startSector; }

    @Override public long lengthSectors() { return lengthSectors; }

    @Override public boolean readOnly() { return false; }

    @Override public boolean rebuiltForHandover() { return handover; }

    @Override
    public void raise(EventPayload event) {
        device.raise(event, index);
    }

    @Override public ScheduledExecutorService scheduler() { return host.scheduler(); }

    @Override public Copier copier() { return host.copier(); }

    @Override public String identityOf(BlockDevice device) { return DeviceIdentity.of(device); }

    @Override
    public BlockDevice openDevice(String reference) {
        return new TrackedDevice(host.openReference(device, reference), opened);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        return new TrackedDevice(device.counters.counting(host.adoptSocket(reference, socket, negotiated)), opened);
    }

    /** The devices the target opened through this context and still holds. */
    List<BlockDevice> openedNow() {
        List<BlockDevice> out = new ArrayList<>();
        for (TrackedDevice d : opened) out.add(d.inner);
        return out;
    }
}
