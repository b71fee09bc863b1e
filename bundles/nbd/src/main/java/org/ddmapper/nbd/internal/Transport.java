package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A connected byte stream in non-blocking mode with one owner thread that waits on it: a
 * java.nio socket channel, or a raw socket descriptor someone passed us (reached through JNA,
 * since a raw descriptor cannot become a channel without opening JDK internals).
 *
 * <p>{@link #read} and {@link #write} never block; the owner thread blocks only in
 * {@link #await}, which any thread may cut short with {@link #wakeup}. Reads happen on the
 * owner thread; writes may come from any thread, one at a time.
 */
public interface Transport extends AutoCloseable {

    /** {@link #await} interest and result bit: bytes can be read (or the peer hung up). */
    int READABLE = 1;
    /** {@link #await} interest and result bit: bytes can be written. */
    int WRITABLE = 2;

    /** Reads what is there into {@code dst}: the byte count, 0 when nothing is, -1 at end of stream. */
    int read(ByteBuffer dst) throws IOException;

    /** Writes what the socket takes now from the buffers (a gathering write); returns the byte count. */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException;

    /**
     * Writes what the socket takes now from {@code src}, telling the kernel that more bytes follow
     * at once (MSG_MORE): a reply header sent this way leaves in the same segment as the start of
     * the payload written next. Where the transport cannot say so, a plain {@link #write}.
     */
    default long writeCorked(ByteBuffer src) throws IOException {
        return write(new ByteBuffer[] {src}, 0, 1);
    }

    /**
     * Waits until one of the {@code interest} conditions holds, {@link #wakeup} is called, or
     * {@code timeoutMillis} pass (negative: no limit). Returns the conditions that hold (0 when
     * woken or timed out). Owner thread only.
     */
    int await(int interest, long timeoutMillis) throws IOException;

    /**
     * Whether the peer has hung up even though bytes it sent are still unread (a read would show
     * the end only after them). False when the transport cannot tell. Owner thread only.
     */
    default boolean peerClosed() {
        return !isOpen();
    }

    /** Makes the owner's current or next {@link #await} return at once. Any thread. */
    void wakeup();

    /** Shuts the connection down and wakes the owner; the descriptors are freed by {@link #release}. Any thread, idempotent. */
    @Override
    void close();

    /** Frees the descriptors. Call once the owner thread no longer uses the transport (implies close). */
    void release();

    boolean isOpen();

    /** Where the other end is, for logs and messages. */
    String peer();

    /** Writes all of {@code src}, waiting up to {@code deadlineNanos} (System.nanoTime based). Owner thread only. */
    default void writeFully(ByteBuffer src, long deadlineNanos) throws IOException {
        ByteBuffer[] one = {src};
        while (src.hasRemaining()) {
            if (write(one, 0, 1) == 0) awaitUntil(WRITABLE, deadlineNanos);
        }
    }

    /** Fills {@code dst}, waiting up to {@code deadlineNanos}; end of stream is an {@link java.io.EOFException}. Owner thread only. */
    default void readFully(ByteBuffer dst, long deadlineNanos) throws IOException {
        while (dst.hasRemaining()) {
            int n = read(dst);
            if (n < 0) throw new java.io.EOFException("connection closed by " + peer());
            if (n == 0) awaitUntil(READABLE, deadlineNanos);
        }
    }

    /** Awaits one condition until a deadline, throwing {@link DeadlineException} once it has passed. */
    default void awaitUntil(int interest, long deadlineNanos) throws IOException {
        long leftMillis = deadlineNanos == Long.MAX_VALUE ? -1
                : Math.max(0, (deadlineNanos - System.nanoTime() + 999_999) / 1_000_000);
        if (leftMillis == 0) throw new DeadlineException("no progress from " + peer() + " before the deadline");
        await(interest, leftMillis);
        if (!isOpen()) throw new java.nio.channels.ClosedChannelException();
    }

    /** A blocking-style operation ran out of time. */
    final class DeadlineException extends IOException {
        private static final long serialVersionUID = 1L;

        public DeadlineException(String message) {
            super(message);
        }
    }
}
