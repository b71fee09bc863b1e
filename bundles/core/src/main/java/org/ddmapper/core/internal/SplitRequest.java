package org.ddmapper.core.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;

/**
 * The completion shared by the parts of a request split at target boundaries (or a flush sent
 * to every target): the request completes when every part has; the first error wins; if a part
 * was requeued and none failed, the whole request is requeued (re-doing a part is harmless).
 */
final class SplitRequest extends AtomicInteger implements Consumer<IoStatus> {
    private static final long serialVersionUID = 1L;
    private final transient MappedDevice device;
    private final transient Bio bio;
    private volatile IoStatus firstError;
    private volatile boolean requeue;

    SplitRequest(MappedDevice device, Bio bio, int parts) {
        super(parts);
        this.device = device;
        this.bio = bio;
    }

    @Override
    public void accept(IoStatus status) {
        if (status.isError()) {
            synchronized (this) {
                if (firstError == null) firstError = status;
            }
        } else if (status.isRequeue()) {
            requeue = true;
        }
        if (decrementAndGet() != 0) return;
        IoStatus error = firstError;
        if (error != null) bio.complete(error);
        else if (requeue) device.requeue(bio);
        else bio.complete(IoStatus.OK);
        device.leave();
    }
}
