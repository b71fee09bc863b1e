package org.ddmapper.core.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;

/**
 * The I/O gate of one mapped device: counts the requests in flight, holds new ones while closed,
 * and lets a suspender wait until nothing is in flight.
 *
 * <p>Design. The I/O path takes no lock: a request bumps {@link #inflight} ({@link #enter}) and
 * then reads the volatile {@link #closed} flag. A suspender closes the gate first and then waits for
 * {@code inflight} to reach zero ({@link #drain}). Because both are volatile, either the submitter
 * sees the gate closed (it leaves again and asks to be held, {@link #hold}) or the suspender sees
 * the submitter's increment (and waits for it): no request slips past a closed gate unseen. The
 * monitor of this object guards the held queue and is what drainers wait on; {@link #leave} wakes
 * them only when the count reaches zero with the gate closed, so an open gate costs one atomic
 * increment and decrement per request.
 *
 * <p>A held request waits until {@link #open} hands the held queue back for replay. Two ends
 * refuse instead of holding: a gate {@link #failWith failing} (a device whose target type stayed
 * away too long) fails held and new requests with EIO and its reason; a gate {@link #remove
 * removed} fails them with ENODEV.
 */
final class IoGate {
    private final AtomicLong inflight = new AtomicLong();
    private volatile boolean closed;
    /** Why new and held requests fail with EIO while closed, or null. */
    private volatile String failing;
    /** Why requests fail with ENODEV: the device is gone for good; null while it lives. */
    private volatile String removed;
    /** Requests waiting for the gate to open (guarded by this). */
    private final ArrayDeque<Bio> held = new ArrayDeque<>();

    /** Counts a request in; false (and not counted) when the gate is closed: the caller then holds it. */
    boolean enter() {
        inflight.incrementAndGet();
        if (!closed) return true;
        leave();
        return false;
    }

    /** One request (or all parts of a split one) left. */
    void leave() {
        if (inflight.decrementAndGet() == 0 && closed) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Requests counted in now. */
    long inflight() { return inflight.get(); }

    /** Why requests fail with ENODEV, or null while the device lives. */
    String removedReason() { return removed; }

    /** Why requests fail with EIO while the gate is closed, or null. */
    String failingReason() { return failing; }

    /**
     * Keeps {@code bio} until the gate opens, or fails it when the gate is removed (ENODEV) or
     * failing (EIO). Returns false, doing nothing, when the gate is open again: the caller submits.
     */
    boolean hold(Bio bio) {
        String failure;
        synchronized (this) {
            failure = failing;
            if (closed && removed == null && failure == null) {
                held.addLast(bio);
                return true;
            }
        }
        String gone = removed;
        if (gone != null) bio.fail(Errno.ENODEV, gone);
        else if (failure != null && closed) bio.fail(Errno.EIO, failure);
        else return false;
        return true;
    }

    int heldCount() {
        synchronized (this) {
            return held.size();
        }
    }

    /** Closes the gate: new requests are held from now on. */
    void close() {
        synchronized (this) {
            closed = true;
        }
    }

    /** Waits until nothing is in flight; false on timeout (or interrupt). */
    boolean drain(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (this) {
            while (inflight.get() > 0) {
                long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (leftMillis <= 0) return false;
                try {
                    wait(leftMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /** Opens the gate and hands back the held requests, oldest first, for the caller to submit again. */
    List<Bio> open() {
        synchronized (this) {
            closed = false;
            List<Bio> replay = new ArrayList<>(held);
            held.clear();
            return replay;
        }
    }

    /** From now on held and new requests fail with EIO and {@code reason} while the gate is closed; fails those held now. Returns how many. */
    int failWith(String reason) {
        List<Bio> failed = takeHeld(() -> failing = reason);
        for (Bio bio : failed) bio.fail(Errno.EIO, reason);
        return failed.size();
    }

    /** Requests wait again instead of failing (the device's type is back, or another table went live). */
    void stopFailing() {
        synchronized (this) {
            failing = null;
        }
    }

    /** The device is gone: closes the gate for good (new requests fail with ENODEV and {@code reason}); returns what was held. */
    List<Bio> remove(String reason) {
        return takeHeld(() -> {
            removed = reason;
            closed = true;
        });
    }

    /** Takes what is held now (requests requeued while a removed device drained). */
    List<Bio> takeHeld() { return takeHeld(() -> { }); }

    private List<Bio> takeHeld(Runnable change) {
        synchronized (this) {
            change.run();
            List<Bio> out = new ArrayList<>(held);
            held.clear();
            return out;
        }
    }
}
