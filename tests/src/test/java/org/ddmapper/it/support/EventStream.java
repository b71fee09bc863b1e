package org.ddmapper.it.support;

import java.util.List;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;

/**
 * Where a device's event stream stands: the number of its last event (every event counts there,
 * unlike the device's event number, which counts only what the kernel counts), to read with
 * {@code DeviceManager.events(device, position)} what came after.
 */
public final class EventStream {
    private EventStream() {}

    public static long position(DeviceManager dm, DeviceRef device) {
        List<DeviceEvent> recent = dm.events(device, 0);
        return recent.isEmpty() ? 0 : recent.get(recent.size() - 1).eventNr();
    }
}
