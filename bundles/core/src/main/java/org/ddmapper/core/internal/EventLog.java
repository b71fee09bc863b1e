package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.EventPayload;

/**
 * One device's events: their stream, numbered (every event counts) with a bounded history of the
 * most recent, and the device's event number (event_nr), which counts only the events the kernel
 * counts ({@link org.ddmapper.api.EventKind#countsInEventNr()}) and is what waiters block on, on this object's
 * monitor.
 */
final class EventLog {
    /** How many recent events a device remembers. */
    static final int HISTORY = 256;

    private final DeviceEvent[] ring = new DeviceEvent[HISTORY];
    /** The last event's number in the stream. */
    private long sequence;
    /** The kernel's event_nr. */
    private long eventNr;

    /** Counts and records an event; returns it (delivery to listeners is the caller's job, outside this lock). */
    synchronized DeviceEvent record(String device, long deviceId, EventPayload payload, int targetIndex) {
        sequence++;
        DeviceEvent event = new DeviceEvent(device, deviceId, sequence, payload.kind(), targetIndex, payload.details(),
                System.currentTimeMillis());
        ring[(int) (sequence % HISTORY)] = event;
        if (event.countsInEventNr()) {
            eventNr++;
            notifyAll();
        }
        return event;
    }

    /** The kernel's event_nr: the events it counts. */
    synchronized long eventNr() { return eventNr; }

    /**
     * Waits until event_nr exceeds {@code after}, the timeout passes, or {@link #close} is called;
     * returns event_nr then. A timeout too large to add to the clock (Long.MAX_VALUE) waits without limit.
     */
    synchronized long await(long after, long timeoutMillis) throws InterruptedException {
        long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMillis)); // saturates at Long.MAX_VALUE
        boolean forever = timeoutNanos >= Long.MAX_VALUE / 2;
        long start = System.nanoTime();
        while (eventNr <= after && !closed) {
            if (forever) {
                wait();
                continue;
            }
            long leftNanos = timeoutNanos - (System.nanoTime() - start);
            if (leftNanos <= 0) break;
            TimeUnit.NANOSECONDS.timedWait(this, leftNanos);
        }
        return eventNr;
    }

    private boolean closed;

    /** Releases every waiter for good (the device is gone). */
    synchronized void close() {
        closed = true;
        notifyAll();
    }

    /** The remembered events whose stream number is above {@code after}, oldest first. */
    synchronized List<DeviceEvent> since(long after) {
        List<DeviceEvent> out = new ArrayList<>();
        long from = Math.max(after + 1, sequence - HISTORY + 1);
        for (long n = Math.max(1, from); n <= sequence; n++) out.add(ring[(int) (n % HISTORY)]);
        return out;
    }
}
