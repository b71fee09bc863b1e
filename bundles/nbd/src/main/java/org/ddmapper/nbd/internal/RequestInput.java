package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;

/**
 * The reading side of a server connection, on its reader thread: the 64 KiB input buffer that
 * headers (and small payloads) are read into, WRITE payloads and their deadlines, and every wait
 * of the reader.
 *
 * <p>Deadlines: a WRITE's buffer is taken only once the first 64 KiB of its payload (or all of a
 * shorter one) are in the input buffer, so a bare header holds no memory; those bytes must come
 * within {@code payloadMillis} of the header, and the rest within {@code payloadMillis} once the
 * buffer was granted. A refused WRITE's payload is read and dropped under the same deadline, so
 * the stream stays framed. While replies are held up and other connections wait for memory, a
 * client that takes no reply bytes for {@code payloadMillis} is dropped too. Each drop is a {@link
 * StalledClientException} naming why.
 *
 * <p>Waiting for room ({@link #awaitRoom}, the connection's {@link Admission.Waiter}) reads ahead
 * into the input buffer, so a client that hangs up is seen at once; with the buffer full it asks
 * the socket every {@value #HANGUP_CHECK_MILLIS} ms whether the client hung up. When the
 * connection starts closing, a wait for room or for a payload stops with {@link ClosingNow}: that
 * request is answered instead of run, and what is left of its payload is dropped while closing.
 */
final class RequestInput {
    static final int BUFFER_BYTES = 64 * 1024;
    /** While replies are held up, how often the reader looks whether the client stalls others. */
    private static final long STALL_CHECK_MILLIS = 1_000;
    /** How often a reader waiting with a full input buffer asks whether its client hung up. */
    private static final long HANGUP_CHECK_MILLIS = 500;

    private final Transport transport;
    private final OutputQueue out;
    private final Admission admission;
    private final ServerLimits limits;
    private final BooleanSupplier closing;
    /** Unread input between position and limit. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER_BYTES);

    RequestInput(Transport transport, OutputQueue out, Admission admission, ServerLimits limits, BooleanSupplier closing) {
        this.transport = transport;
        this.out = out;
        this.admission = admission;
        this.limits = limits;
        this.closing = closing;
        in.clear().flip();
    }

    /** A client that holds the server's memory without making progress; only its connection is dropped. */
    public static final class StalledClientException extends IOException {
        private static final long serialVersionUID = 1L;

        StalledClientException(String message) {
            super(message);
        }
    }

    /** Closing began: the request being read is answered ESHUTDOWN instead of run. A signal, without a trace. */
    static final class ClosingNow extends IOException {
        private static final long serialVersionUID = 1L;
        static final ClosingNow INSTANCE = new ClosingNow();

        private ClosingNow() {
            super("closing");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** Whether a whole request header is buffered. */
    boolean hasHeader() {
        return in.remaining() >= RequestHeader.BYTES;
    }

    /** The buffered header, consumed (check {@link #hasHeader} first). */
    RequestHeader header() throws ProtocolException {
        return RequestHeader.read(in);
    }

    /** Whether the input buffer can take more bytes. */
    boolean hasRoom() {
        return in.remaining() < in.capacity();
    }

    /** Reads what the socket has into the input buffer (keeping what is unread); the byte count, -1 at the end. */
    int fill() throws IOException {
        in.compact();
        try {
            return transport.read(in);
        } finally {
            in.flip();
        }
    }

    /**
     * Waits until the first bytes of a WRITE's payload are in the input buffer (all of it, or as
     * much as the buffer holds) before memory is taken for it, so a client that sends a large
     * header and stalls holds none.
     */
    void awaitPayloadStart(int length) throws IOException {
        int want = Math.min(length, BUFFER_BYTES);
        if (in.remaining() >= want) return;
        long deadline = System.nanoTime() + limits.payloadMillis() * 1_000_000;
        in.compact();
        try {
            while (in.position() < want) {
                int n = transport.read(in);
                if (n < 0) throw new EOFException("connection closed in the middle of a " + length + "-byte WRITE payload");
                if (n == 0) {
                    cutIfClosing();
                    awaitPayload(deadline, length, in.position());
                }
            }
        } finally {
            in.flip();
        }
    }

    /** Reads the rest of {@code r}'s payload into {@code payload} (its position to limit): from the buffer, then the socket. */
    void readPayload(ServerRequest r, ByteBuffer payload) throws IOException {
        int start = payload.position();
        int fromInput = Math.min(in.remaining(), payload.remaining());
        if (fromInput > 0) {
            ByteBuffer src = in.duplicate().limit(in.position() + fromInput);
            payload.put(src);
            in.position(in.position() + fromInput);
            r.payloadLeft -= fromInput;
        }
        long deadline = System.nanoTime() + limits.payloadMillis() * 1_000_000;
        while (payload.hasRemaining()) {
            int n = transport.read(payload);
            if (n < 0) throw new EOFException("connection closed in the middle of a " + r.length + "-byte WRITE payload");
            r.payloadLeft -= n;
            if (n == 0) {
                cutIfClosing();
                awaitPayload(deadline, r.length, payload.position() - start);
            }
        }
    }

    /** Reads and drops a refused WRITE's payload so the next request is found where it should be. */
    void skipPayload(ServerRequest r) throws IOException {
        r.payloadLeft = skipBuffered(r.payloadLeft);
        if (r.payloadLeft == 0) return; // the payload was all buffered: what follows it (pipelined requests) stays
        long length = Integer.toUnsignedLong(r.length);
        long deadline = System.nanoTime() + limits.payloadMillis() * 1_000_000;
        while (r.payloadLeft > 0) {
            int n = readSkipped(r.payloadLeft);
            if (n < 0) throw new EOFException("connection closed in the middle of a refused WRITE payload");
            r.payloadLeft -= n;
            if (n == 0) {
                cutIfClosing();
                awaitPayload(deadline, length, length - r.payloadLeft);
            }
        }
    }

    /** Drops up to {@code bytes} from the input buffer; returns how many are left to drop from the socket. */
    long skipBuffered(long bytes) {
        int fromInput = (int) Math.min(in.remaining(), bytes);
        in.position(in.position() + fromInput);
        return bytes - fromInput;
    }

    /**
     * With the input buffer empty, reads at most {@code bytes} (of a payload being dropped) into it
     * and drops them; the byte count, -1 at the end of the stream.
     */
    private int readSkipped(long bytes) throws IOException {
        in.clear().limit((int) Math.min(in.capacity(), bytes));
        try {
            return transport.read(in);
        } finally {
            in.clear().flip();
        }
    }

    /** Where a payload read stops for closing (what is left of the payload is dropped while closing). */
    private void cutIfClosing() throws ClosingNow {
        if (closing.getAsBoolean()) throw ClosingNow.INSTANCE;
    }

    /** Waits for more of a WRITE payload; past the deadline the client is dropped. */
    private void awaitPayload(long deadlineNanos, long length, long received) throws IOException {
        long leftNanos = deadlineNanos - System.nanoTime();
        if (leftNanos <= 0) {
            throw new StalledClientException("sent " + received + " of a " + length + "-byte WRITE payload in "
                    + limits.payloadMillis() + " ms");
        }
        waitIo(Transport.READABLE, (leftNanos + 999_999) / 1_000_000);
    }

    /**
     * The {@link Admission.Waiter} of this connection: waits for room (a lease coming back, a
     * reply going out) while watching the client (see the class comment).
     */
    void awaitRoom(long maxMillis) throws IOException {
        if (closing.getAsBoolean()) throw ClosingNow.INSTANCE;
        boolean room = hasRoom();
        long timeout = room || (maxMillis >= 0 && maxMillis < HANGUP_CHECK_MILLIS) ? maxMillis : HANGUP_CHECK_MILLIS;
        int ready = waitIo(room ? Transport.READABLE : 0, timeout);
        if (room && (ready & Transport.READABLE) != 0) {
            if (fill() < 0) throw new EOFException("the client hung up while its request waited for room");
        } else if (!room && transport.peerClosed()) {
            throw new EOFException("the client hung up while its request waited for room");
        }
        if (closing.getAsBoolean()) throw ClosingNow.INSTANCE;
    }

    /**
     * Waits for the socket (plus writability when replies are held up); returns what is ready.
     * While replies are held up it looks every second whether the client is keeping memory from
     * connections that wait for it.
     */
    int waitIo(int interest, long timeoutMillis) throws IOException {
        boolean held = out.wantsWritable();
        if (held) {
            interest |= Transport.WRITABLE;
            timeoutMillis = timeoutMillis < 0 ? STALL_CHECK_MILLIS : Math.min(timeoutMillis, STALL_CHECK_MILLIS);
        }
        int ready = transport.await(interest, timeoutMillis);
        if ((ready & Transport.WRITABLE) != 0) out.onWritable();
        if (!transport.isOpen()) {
            IOException failure = out.failure();
            throw failure != null ? failure : new EOFException("connection closed");
        }
        if (held && out.wantsWritable() && out.stalledMillis() >= limits.payloadMillis() && admission.othersWait()) {
            throw new StalledClientException("took no reply bytes for " + out.stalledMillis() + " ms while holding "
                    + admission.inFlightBytes() + " bytes other connections wait for");
        }
        return ready;
    }
}
