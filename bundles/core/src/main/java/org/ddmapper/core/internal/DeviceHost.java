package org.ddmapper.core.internal;

import java.util.concurrent.ScheduledExecutorService;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.Copier;
import org.ddmapper.spi.TargetType;

/** What a mapped device needs from the manager that owns it. */
interface DeviceHost {

    /** The registered type of that name, or null. */
    TargetType targetType(String name);

    /** Opens a reference for a table of {@code forDevice} (refuses dm: cycles); throws DmException naming it. */
    BlockDevice openReference(MappedDevice forDevice, String reference);

    /** Opens a reference over a passed socket through the provider of its scheme. */
    BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated);

    /** Timers for targets and requeues. */
    ScheduledExecutorService scheduler();

    /** The copy engine every target shares. */
    Copier copier();

    /** Delivers an event the device recorded to subscribers and whiteboard listeners. */
    void deliver(MappedDevice device, DeviceEvent event);

    /** How long a suspend waits for in-flight I/O before giving up. */
    long drainTimeoutMillis();
}
