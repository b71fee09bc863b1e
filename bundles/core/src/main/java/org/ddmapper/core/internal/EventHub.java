package org.ddmapper.core.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.tinylog.Logger;

/**
 * Delivers the events devices record to whoever listens: subscribers of one device instance (a
 * ddlink link, {@code dm:events}), subscribers of every device, and DeviceEventListener services
 * (whiteboard), in that order, on the thread that raised the event. A listener that throws is
 * logged and the others still hear the event.
 */
final class EventHub {
    private final List<DeviceEventListener> whiteboard = new CopyOnWriteArrayList<>();
    private final List<DeviceEventListener> everyDevice = new CopyOnWriteArrayList<>();
    private final Map<Long, List<DeviceEventListener>> byDevice = new ConcurrentHashMap<>();

    void addService(DeviceEventListener listener) { whiteboard.add(listener); }

    void removeService(DeviceEventListener listener) { whiteboard.remove(listener); }

    /** Hears the events of device {@code id} (every device when null) until the returned handle is closed. */
    AutoCloseable subscribe(Long id, DeviceEventListener listener) {
        if (id == null) {
            everyDevice.add(listener);
            return () -> everyDevice.remove(listener);
        }
        List<DeviceEventListener> list = byDevice.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>());
        list.add(listener);
        return () -> list.remove(listener);
    }

    /** Forgets the subscribers of a removed device. */
    void forget(long id) { byDevice.remove(id); }

    void deliver(long deviceId, DeviceEvent event) {
        List<DeviceEventListener> own = byDevice.get(deviceId);
        if (own != null) for (DeviceEventListener l : own) notify(l, event);
        for (DeviceEventListener l : everyDevice) notify(l, event);
        for (DeviceEventListener l : whiteboard) notify(l, event);
    }

    private static void notify(DeviceEventListener listener, DeviceEvent event) {
        try {
            listener.onEvent(event);
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) throw vme;
            Logger.warn("event listener {} failed on {}: {}", listener.getClass().getName(), event.toLine(), t.toString());
        }
    }
}
