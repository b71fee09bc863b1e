package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * Admission of one connection's requests: everything a request takes — an in-flight slot, its
 * bytes in the connection's count and in the server's {@link MemoryBudget}, and its data buffer —
 * handed out together as one {@link Lease} and given back together when the lease is closed.
 *
 * <p>Ownership, the rule that keeps this leak-free: {@link #admit} either returns a lease holding
 * everything or throws holding nothing (a buffer that cannot be had gives the budget back before
 * the exception leaves). The connection's reader owns the lease until it hands the request on —
 * to the device, the query pool or the reply queue — and closes it itself when anything fails
 * before that; from then the request's end (its reply written or dropped, and the device done
 * with its buffer) closes it. {@link Lease#close} gives back exactly once, however often and
 * from whichever thread it is called.
 *
 * <p>Waiting: a request that does not fit (too many requests or bytes on the connection, or not
 * enough budget) waits through the connection's {@link Waiter}, which watches the client
 * meanwhile and throws when the connection must end — so a connection whose client hung up while
 * it waited leaves at once, giving back its place in the budget's queue.
 */
final class Admission {

    /** How a connection waits while its request does not fit. */
    interface Waiter {
        /**
         * Waits until woken or {@code maxMillis} pass (negative: until woken). Throws when the
         * connection must stop waiting: its client hung up, it is closing, or it is stalled.
         */
        void await(long maxMillis) throws IOException;
    }

    /** How long to wait for direct memory the JVM is short of before trying again. */
    private static final long NO_MEMORY_RETRY_MILLIS = 20;

    private final ServerLimits limits;
    private final MemoryBudget budget;
    private final BufferPool pool;
    /** This connection's identity in the budget's queues, and how it is woken. */
    private final Runnable wakeup;
    private final Runnable onRelease;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong inFlightBytes = new AtomicLong();
    private final AtomicLong maxInFlightBytesSeen = new AtomicLong();
    private volatile boolean ownerWaiting;

    /**
     * Admission for one connection; {@code wakeup} wakes its reader (also when a lease comes back
     * while it waits for room), {@code onRelease} runs after every lease is closed, on whichever
     * thread closed it.
     */
    Admission(ServerLimits limits, MemoryBudget budget, BufferPool pool, Runnable wakeup, Runnable onRelease) {
        this.limits = limits;
        this.budget = budget;
        this.pool = pool;
        this.wakeup = wakeup;
        this.onRelease = onRelease;
    }

    /**
     * Waits until a request of {@code bytes} fits (the connection's request and byte limits, the
     * server's budget) and takes a buffer of that size; returns the lease on all of it. Throws,
     * holding nothing, when {@code waiter} gives up.
     */
    Lease admit(int bytes, Waiter waiter) throws IOException {
        awaitRoom(bytes, waiter);
        if (bytes > 0) awaitBudget(bytes, waiter);
        Lease lease = countIn(bytes);
        if (bytes == 0) return lease;
        boolean taken = false;
        try {
            lease.buffer = takeBuffer(bytes, waiter);
            taken = true;
            return lease;
        } finally {
            if (!taken) lease.close();
        }
    }

    /**
     * A lease of no bytes taken without waiting, past the request limit if need be: for the
     * replies of a closing connection, which reads a request only while its replies go out.
     */
    Lease admitNow() {
        return countIn(0);
    }

    /** Requests admitted and not yet given back. */
    int inFlight() {
        return inFlight.get();
    }

    /** Bytes this connection holds now. */
    long inFlightBytes() {
        return inFlightBytes.get();
    }

    /** The most data bytes this connection held at once. */
    long maxInFlightBytesSeen() {
        return maxInFlightBytesSeen.get();
    }

    /** Whether other connections wait for budget this connection holds. */
    boolean othersWait() {
        return budget.othersWait(wakeup);
    }

    private boolean full(long bytes) {
        return inFlight.get() >= limits.maxInFlightRequests()
                || (inFlight.get() > 0 && inFlightBytes.get() + bytes > limits.maxInFlightBytes());
    }

    private void awaitRoom(long bytes, Waiter waiter) throws IOException {
        while (full(bytes)) {
            ownerWaiting = true;
            try {
                if (full(bytes)) waiter.await(-1);
            } finally {
                ownerWaiting = false;
            }
        }
    }

    private void awaitBudget(long bytes, Waiter waiter) throws IOException {
        if (budget.tryAcquire(bytes, inFlightBytes.get(), wakeup)) return;
        boolean granted = false;
        try {
            do {
                waiter.await(-1);
            } while (!budget.tryAcquire(bytes, inFlightBytes.get(), wakeup));
            granted = true;
        } finally {
            if (!granted) budget.cancel(wakeup);
        }
    }

    private Lease countIn(int bytes) {
        inFlight.incrementAndGet();
        long now = inFlightBytes.addAndGet(bytes);
        maxInFlightBytesSeen.accumulateAndGet(now, Math::max);
        return new Lease(bytes);
    }

    private ByteBuffer takeBuffer(int bytes, Waiter waiter) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return pool.acquire(bytes);
            } catch (OutOfMemoryError e) {
                // The budget allowed this but direct memory is short (something else holds it):
                // wait for it to come back rather than drop the client.
                if (attempt == 0) Logger.warn("nbd: no direct memory for a {}-byte buffer; waiting", bytes);
                waiter.await(NO_MEMORY_RETRY_MILLIS);
            }
        }
    }

    /** One request's slot, bytes and buffer; {@link #close} gives them all back, once. */
    final class Lease implements AutoCloseable {
        private final int bytes;
        private final AtomicBoolean closed = new AtomicBoolean();
        private volatile ByteBuffer buffer;

        private Lease(int bytes) {
            this.bytes = bytes;
        }

        /** The request's data buffer (position 0, limit its bytes); null for a lease of no bytes. */
        ByteBuffer buffer() {
            return buffer;
        }

        int bytes() {
            return bytes;
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) return;
            ByteBuffer b = buffer;
            buffer = null;
            pool.release(b);
            inFlightBytes.addAndGet(-bytes);
            inFlight.decrementAndGet();
            if (bytes > 0) budget.release(bytes);
            if (ownerWaiting) wakeup.run();
            onRelease.run();
        }
    }
}
