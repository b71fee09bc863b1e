package org.ddmapper.nbd.internal;

import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.tinylog.Logger;

/**
 * A server connection's hold on its export: the {@link Session} the handshake opened (the device
 * and the connection's share of the export's unaligned-request state), and a subscription to the
 * device's events, through which a removal reaches the connection. Both are given back once, when
 * the connection has ended and its last request has left the device ({@link #closeIfIdle}), so a
 * device is never closed under a request still running on it.
 */
final class ExportHold {
    private final Session session;
    private final AutoCloseable subscription;
    private boolean closed; // guarded by this

    /** Holds {@code session}'s export; {@code onRemoved} runs (on the event's thread) when its device is removed. */
    ExportHold(Session session, DeviceManager devices, Runnable onRemoved) {
        this.session = session;
        AutoCloseable s = null;
        try {
            s = devices.subscribe(DeviceRef.id(session.device().id()), (DeviceEvent e) -> {
                if (e.kind() == EventKind.REMOVED) onRemoved.run();
            });
        } catch (RuntimeException e) {
            Logger.debug("nbd: cannot follow events of {}: {}", session.name(), e.getMessage());
        }
        this.subscription = s;
    }

    /** Closes the subscription and the session once {@code ended} and nothing is in flight; at most once. */
    void closeIfIdle(boolean ended, int inFlight) {
        if (!ended || inFlight != 0) return;
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        try {
            if (subscription != null) subscription.close();
        } catch (Exception e) {
            Logger.debug("nbd: closing the event subscription failed: {}", e.getMessage());
        }
        try {
            session.close();
        } catch (RuntimeException e) {
            Logger.warn(e, "nbd: closing device {} failed", session.name());
        }
    }
}
