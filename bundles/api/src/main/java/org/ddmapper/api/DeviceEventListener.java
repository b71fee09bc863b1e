package org.ddmapper.api;

/**
 * Receives device events. Register one as an OSGi service (whiteboard) to hear every device,
 * or pass it to {@link DeviceManager#subscribe}. Called on the thread that raised the event:
 * return quickly and never block.
 */
@FunctionalInterface
public interface DeviceEventListener {
    void onEvent(DeviceEvent event);
}
