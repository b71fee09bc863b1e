package org.ddmapper.core.internal;

import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;

/** The completion of a request that one target serves whole: the outcome goes to the caller, a REQUEUE back to the device. */
final class Request implements Consumer<IoStatus> {
    private final MappedDevice device;
    private final Bio bio;
    private final long startNanos = DeviceCounters.start();

    Request(MappedDevice device, Bio bio) {
        this.device = device;
        this.bio = bio;
    }

    @Override
    public void accept(IoStatus status) {
        if (status.isRequeue()) device.requeue(bio);
        else {
            device.counters.completed(bio, status, startNanos);
            bio.complete(status);
        }
        device.leave();
    }
}
