package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * The transmission phase of one server connection.
 *
 * <p>Threads: the connection's own thread reads requests, checks them and submits them to the
 * device as asynchronous {@link Bio}s; each completion (on whatever thread the device completes
 * on) queues its reply on the {@link OutputQueue}, which writes it at once when no other reply is
 * being written. Replies go out in completion order, many requests in flight. BLOCK_STATUS
 * queries run on the server's query pool (a file answers them with system calls), and their
 * replies go out in completion order too.
 *
 * <p>Memory: request payloads and read data live in pooled direct buffers. A connection holds at
 * most {@code maxInFlightBytes} of them (in requests and unsent replies) and at most
 * {@code maxInFlightRequests} requests, and all connections together at most the server's
 * {@link MemoryBudget}; past either the reader stops taking requests until bytes come back
 * (back-pressure through TCP), so a client that sends without reading replies costs a bounded
 * amount of memory, and no connection is dropped because others hold memory. Each request's
 * share is one {@link Admission.Lease}, closed exactly once when the request ends, on every path
 * (see {@link Admission} for who owns it when). While it waits, the reader keeps watching the
 * client, so a client that hangs up is noticed at once.
 *
 * <p>Deadlines: a WRITE's payload must arrive within {@code payloadMillis} of the server starting
 * to read it (the buffer is taken before the payload comes, so a client that declares large
 * WRITEs and trickles them would otherwise hold memory for ever); and while other connections
 * wait for memory, a client that takes no reply bytes for {@code payloadMillis} is dropped too.
 * Either drop is logged with its reason ({@link StalledClientException}).
 *
 * <p>Bad requests are answered with the specification's error and never disturb the stream: a
 * refused WRITE's payload is read and dropped. Only a bad request magic (the stream is no longer
 * framed) drops the connection.
 *
 * <p>Closing ({@link Closing}): when the server stops, the export's device is removed, or the
 * client sends DISC, the connection stops taking requests. Requests in flight get the grace
 * period to finish; every other request — one whose WRITE payload is only partly read, one
 * waiting for memory, one arriving meanwhile — is answered {@code NBD_ESHUTDOWN} (after DISC
 * nothing more is read, as the specification says). At the end of the grace period whatever is
 * still at the device is answered {@code NBD_ESHUTDOWN} too, the replies are flushed and the
 * connection is closed, so no request is left unanswered unless the client stopped reading. A
 * stopping server closes a connection once nothing is in flight and no request came for
 * {@value #STOP_QUIET_MILLIS} ms; one whose device was removed lingers answering {@code
 * ESHUTDOWN} until it has been idle for {@code goneLingerMillis}.
 */
public final class Transmission {
    private static final int HEADER_BYTES = 28;
    private static final int IN_BUFFER_BYTES = 64 * 1024;
    private static final long STALL_CHECK_MILLIS = 1_000;
    /** How often a reader waiting with a full input buffer asks whether its client hung up. */
    private static final long HANGUP_CHECK_MILLIS = 500;
    /**
     * How long a stopping connection with nothing in flight waits for another request before it
     * closes: a request the client sent as the last reply reached it is answered, not cut off.
     */
    private static final long STOP_QUIET_MILLIS = 100;
    /** How long replies still get to go out once the grace period is over (a client may have stopped reading). */
    private static final long FLUSH_AFTER_GRACE_MILLIS = 1_000;
    /** Most descriptors in one BLOCK_STATUS reply (its header must fit an output header). */
    private static final int MAX_DESCRIPTORS = (OutputQueue.MAX_HEADER_BYTES - 24) / 8;

    private final Transport transport;
    private final OutputQueue out;
    private final Session session;
    private final DeviceManager.OpenDevice device;
    private final UnalignedRequests unaligned;
    private final ServerLimits limits;
    private final Admission admission;
    private final Executor queries;
    private final ByteBuffer in;
    /** Requests the device (or the query pool) holds: answered ESHUTDOWN if still there when a grace period ends. */
    private final Set<Request> atDevice = ConcurrentHashMap.newKeySet();
    private volatile boolean ownerWaiting;
    /** Null while serving; set once by {@link #closeGracefully} and only tightened after. */
    private volatile Closing closing;
    /** Bytes of a WRITE payload the stream still holds after closing cut its reading short (the reader's). */
    private long payloadToSkip;
    private volatile boolean finished;
    private final Object closeLock = new Object();
    private boolean deviceClosed;
    private AutoCloseable subscription;

    public Transmission(Transport transport, Session session, ServerLimits limits, BufferPool pool,
                        MemoryBudget budget, DeviceManager devices, Executor queries) {
        this.transport = transport;
        this.queries = queries;
        this.admission = new Admission(limits, budget, pool, transport::wakeup, this::released);
        this.out = new OutputQueue(transport, this::wakeOwnerIfWaiting);
        this.session = session;
        this.device = session.device();
        this.unaligned = session.unaligned();
        this.limits = limits;
        this.in = ByteBuffer.allocateDirect(IN_BUFFER_BYTES);
        try {
            subscription = devices.subscribe(DeviceRef.id(device.id()), this::onDeviceEvent);
        } catch (RuntimeException e) {
            Logger.debug("nbd: cannot follow events of {}: {}", session.name(), e.getMessage());
        }
    }

    /** Serves requests until the client hangs up, or the connection has closed (DISC, a stop, a removed device). */
    public void run() throws IOException {
        in.clear().flip();
        try {
            for (;;) {
                if (closing != null) {
                    finishClosing();
                    return;
                }
                if (in.remaining() >= HEADER_BYTES) {
                    handleRequest();
                    continue;
                }
                if (fill() < 0) return;
                if (in.remaining() < HEADER_BYTES && closing == null) waitIo(Transport.READABLE, -1);
            }
        } finally {
            finished = true;
            transport.close();
            out.close();
            closeDeviceWhenIdle();
        }
    }

    /** The server stops: close as {@link Closing} says, within the grace period. Any thread. */
    public void stop() {
        closeGracefully(new Closing("the server is stopping", deadline(limits.shutdownGraceMillis()), STOP_QUIET_MILLIS, false));
    }

    /** Reads what the socket has into the input buffer (keeping what is unread); the byte count, -1 at the end. */
    private int fill() throws IOException {
        in.compact();
        try {
            return transport.read(in);
        } finally {
            in.flip();
        }
    }

    /** The most data bytes this connection held at once (for tests of the memory bound). */
    public long maxInFlightBytesSeen() {
        return admission.maxInFlightBytesSeen();
    }

    /** Handles one request at the head of the input (a DISC starts closing). */
    private void handleRequest() throws IOException {
        int at = in.position();
        int magic = in.getInt(at);
        if (magic != Nbd.REQUEST_MAGIC)
            throw new ProtocolException("bad request magic 0x" + Integer.toHexString(magic));
        int flags = Short.toUnsignedInt(in.getShort(at + 4));
        int type = Short.toUnsignedInt(in.getShort(at + 6));
        long handle = in.getLong(at + 8);
        long offset = in.getLong(at + 16);
        long length = Integer.toUnsignedLong(in.getInt(at + 24));
        in.position(at + HEADER_BYTES);

        if (type == Nbd.CMD_DISC) {
            closeGracefully(new Closing("the client disconnected", Long.MAX_VALUE, 0, true));
            return;
        }
        Request r = new Request(handle, type, flags, offset, (int) length);
        try {
            dispatch(r, check(type, flags, offset, length, r) != null);
        } catch (ClosingNow e) {
            // Closing began while the request waited for room or its payload: it is answered, not run,
            // and what the stream still holds of its payload is dropped while closing.
            r.abandon();
            payloadToSkip = r.payloadLeft;
            shutDown(r, closing.reason());
        } catch (IOException | RuntimeException | Error e) {
            r.abandon();
            throw e;
        }
    }

    /**
     * Takes a request's lease and hands the request on (to the device, the query pool, or the
     * reply queue when it is refused or has nothing to do). Whatever it throws, the caller gives
     * the lease back unless the request was handed on.
     */
    private void dispatch(Request r, boolean refused) throws IOException {
        if (refused) {
            if (r.type == Nbd.CMD_WRITE) skipPayload(r);
            r.lease = admission.admit(0, this::awaitAdmission);
            reply(r);
            return;
        }
        if (r.length != 0 && r.type != Nbd.CMD_BLOCK_STATUS
                && !UnalignedRequests.whole(r.offset, Integer.toUnsignedLong(r.length), session.blockBytes())) {
            submitUnaligned(r);
            return;
        }
        switch (r.type) {
            case Nbd.CMD_READ, Nbd.CMD_CACHE -> submitRead(r);
            case Nbd.CMD_WRITE -> submitWrite(r);
            case Nbd.CMD_FLUSH -> {
                r.lease = admission.admit(0, this::awaitAdmission);
                submit(r, Bio.flush(r));
            }
            case Nbd.CMD_TRIM -> submitRange(r, BioOp.DISCARD, fua(r.flags));
            case Nbd.CMD_WRITE_ZEROES -> writeZeroes(r, r.flags);
            case Nbd.CMD_BLOCK_STATUS -> {
                r.lease = admission.admit(0, this::awaitAdmission);
                blockStatus(r);
            }
            default -> throw new IllegalStateException("unchecked command " + r.type);
        }
    }

    /**
     * Checks a request against the protocol and the export; returns null when it may run, else
     * the reason, with the request's error set.
     */
    private String check(int type, int flags, long offset, long length, Request r) {
        String cmd = Nbd.commandName(type);
        int allowed;
        switch (type) {
            case Nbd.CMD_READ -> allowed = session.structured() ? Nbd.CMD_FLAG_DF : 0;
            case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> allowed = 0;
            case Nbd.CMD_WRITE_ZEROES -> allowed = Nbd.CMD_FLAG_NO_HOLE;
            case Nbd.CMD_BLOCK_STATUS -> allowed = Nbd.CMD_FLAG_REQ_ONE;
            default -> {
                return r.refuse(Nbd.EINVAL, "unknown command " + type);
            }
        }
        if ((session.flags() & Nbd.FLAG_SEND_FUA) != 0) allowed |= Nbd.CMD_FLAG_FUA;
        if ((flags & ~allowed) != 0)
            return r.refuse(Nbd.EINVAL, "flags 0x" + Integer.toHexString(flags & ~allowed) + " are not valid on " + cmd);
        if (type == Nbd.CMD_FLUSH) {
            if (offset != 0 || length != 0) return r.refuse(Nbd.EINVAL, "FLUSH must have offset and length 0");
            return null;
        }
        if (type == Nbd.CMD_BLOCK_STATUS && !session.baseAllocation())
            return r.refuse(Nbd.EINVAL, "BLOCK_STATUS needs the base:allocation context (NBD_OPT_SET_META_CONTEXT)");
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
        if (writes && session.readOnly())
            return r.refuse(Nbd.EPERM, "export " + WireStrings.quote(session.name()) + " is read-only");
        boolean capped = type == Nbd.CMD_READ || type == Nbd.CMD_WRITE || type == Nbd.CMD_CACHE
                || type == Nbd.CMD_WRITE_ZEROES;
        if (capped && length > limits.maxPayloadBytes())
            return r.refuse(Nbd.EINVAL, cmd + " of " + length + " bytes exceeds the maximum block size "
                    + limits.maxPayloadBytes());
        int align = session.minBlockBytes();
        if ((offset & (align - 1)) != 0 || (length & (align - 1)) != 0)
            return r.refuse(Nbd.EINVAL, cmd + " at offset " + Long.toUnsignedString(offset) + " length " + length
                    + " is not aligned to the minimum block size " + align);
        long end = offset + length;
        if (Long.compareUnsigned(end, offset) < 0)
            return r.refuse(Nbd.EINVAL, cmd + ": offset " + Long.toUnsignedString(offset) + " + length " + length
                    + " overflows");
        if (Long.compareUnsigned(end, session.sizeBytes()) > 0) {
            int error = type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
            return r.refuse(error, cmd + " at offset " + Long.toUnsignedString(offset) + " length " + length
                    + " is beyond the end of the export (" + session.sizeBytes() + " bytes)");
        }
        if (type == Nbd.CMD_BLOCK_STATUS && length == 0)
            return r.refuse(Nbd.EINVAL, "BLOCK_STATUS of length 0");
        Closing c = closing;
        if (c != null) return r.refuse(Nbd.ESHUTDOWN, c.reason());
        return null;
    }

    private void submitRead(Request r) throws IOException {
        r.lease = admission.admit(r.length, this::awaitAdmission);
        if (r.length == 0) {
            reply(r);
            return;
        }
        r.data = r.lease.buffer();
        if (r.type == Nbd.CMD_CACHE) r.kind = Request.SIMPLE_NO_DATA;
        submit(r, Bio.read(r.offset >>> Bio.SECTOR_SHIFT, r.data.duplicate(), r));
    }

    private void submitWrite(Request r) throws IOException {
        if (r.length == 0) {
            r.lease = admission.admit(0, this::awaitAdmission);
            reply(r);
            return;
        }
        ByteBuffer data = receivePayload(r, r.length, 0);
        submitWriting(r, Bio.write(r.offset >>> Bio.SECTOR_SHIFT, data.duplicate(), fua(r.flags), r), r.offset, r.end());
    }

    /**
     * Takes the lease of a WRITE with a buffer of {@code bytes} and reads its payload into it at
     * {@code at}; returns the buffer (position 0, limit {@code bytes}). On failure the caller
     * gives the lease back.
     */
    private ByteBuffer receivePayload(Request r, int bytes, int at) throws IOException {
        awaitPayloadStart(r.length);
        r.lease = admission.admit(bytes, this::awaitAdmission);
        ByteBuffer data = r.lease.buffer();
        ByteBuffer payload = data.duplicate().position(at).limit(at + r.length);
        int fromInput = Math.min(in.remaining(), r.length);
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
                awaitPayload(deadline, r.length, payload.position() - at);
            }
        }
        return data;
    }

    /**
     * Waits until the first bytes of a WRITE's payload are in the input buffer (all of it, or as
     * much as the buffer holds) before memory is taken for it, so a client that sends a large
     * header and stalls holds none.
     */
    private void awaitPayloadStart(int length) throws IOException {
        int want = Math.min(length, IN_BUFFER_BYTES);
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

    private void writeZeroes(Request r, int flags) throws IOException {
        int bioFlags = fua(flags) | ((flags & Nbd.CMD_FLAG_NO_HOLE) != 0 ? Bio.NO_HOLE : 0);
        submitRange(r, BioOp.WRITE_ZEROES, bioFlags);
    }

    private void submitRange(Request r, BioOp op, int bioFlags) throws IOException {
        r.lease = admission.admit(0, this::awaitAdmission);
        if (r.length == 0) {
            reply(r);
            return;
        }
        submitWriting(r, Bio.of(op, r.offset >>> Bio.SECTOR_SHIFT, r.length >>> Bio.SECTOR_SHIFT, null, bioFlags, r),
                r.offset, r.end());
    }

    /** Hands the device a bio that changes the export's bytes [start, end), ordered against read-modify-writes of them. */
    private void submitWriting(Request r, Bio bio, long start, long end) {
        r.toDevice();
        unaligned.runWrite(start, end, hold -> {
            r.hold = hold;
            submitBio(bio);
        });
    }

    /**
     * A request not made of whole device blocks, from a client that did not ask for block sizes:
     * served on the blocks that cover it ({@link UnalignedRequests}).
     */
    private void submitUnaligned(Request r) throws IOException {
        UnalignedRequests.Span s = UnalignedRequests.span(r.offset, Integer.toUnsignedLong(r.length), session.blockBytes(),
                session.sizeBytes());
        switch (r.type) {
            case Nbd.CMD_READ, Nbd.CMD_CACHE -> {
                r.lease = admission.admit(s.coverBytes(), this::awaitAdmission);
                if (r.type == Nbd.CMD_CACHE) r.kind = Request.SIMPLE_NO_DATA;
                ByteBuffer cover = r.lease.buffer().duplicate();
                r.data = r.lease.buffer().duplicate().limit(s.head() + r.length).position(s.head()); // the reply's payload
                submit(r, Bio.read(s.startSector(), cover, r));
            }
            case Nbd.CMD_WRITE, Nbd.CMD_WRITE_ZEROES -> {
                ByteBuffer data;
                if (r.type == Nbd.CMD_WRITE) {
                    data = receivePayload(r, s.readModifyWriteBytes(), s.head());
                } else {
                    r.lease = admission.admit(s.readModifyWriteBytes(), this::awaitAdmission);
                    data = r.lease.buffer();
                    UnalignedRequests.zero(data, s.head(), r.length);
                }
                r.toDevice();
                unaligned.runHolding(s.start(), s.end(), hold -> {
                    r.hold = hold;
                    try {
                        UnalignedRequests.readModifyWrite(s, data, fua(r.flags), this::submitBio, r);
                    } catch (RuntimeException e) {
                        Logger.error(e, "nbd: {}: read-modify-write of {} failed", transport.peer(), s);
                        r.accept(IoStatus.error(Errno.EIO, "read-modify-write failed: " + e));
                    }
                });
            }
            case Nbd.CMD_TRIM -> {
                r.lease = admission.admit(0, this::awaitAdmission);
                long from = s.innerStart(), to = s.innerEnd();
                if (from >= to) {
                    reply(r); // no whole block inside: a trim is only a hint
                } else {
                    submitWriting(r, Bio.of(BioOp.DISCARD, from >>> Bio.SECTOR_SHIFT, (to - from) >>> Bio.SECTOR_SHIFT, null,
                            fua(r.flags), r), from, to);
                }
            }
            default -> throw new IllegalStateException("unaligned command " + r.type);
        }
    }

    /** Hands an admitted request's one bio to the device (the request is handed on from here); its completion replies. */
    private void submit(Request r, Bio bio) {
        r.toDevice();
        submitBio(bio);
    }

    /** Submits a bio of a request already handed to the device; a device that throws fails it. */
    private void submitBio(Bio bio) {
        try {
            device.submit(bio);
        } catch (RuntimeException e) {
            Logger.warn(e, "nbd: device {} threw on submit", session.name());
            bio.fail(Errno.EIO, "device " + session.name() + " failed: " + e);
        }
    }

    private static int fua(int flags) {
        return (flags & Nbd.CMD_FLAG_FUA) != 0 ? Bio.FUA : 0;
    }

    /** Runs after a lease was given back: wakes a reader that waits for it, closes the device once all ended. */
    private void released() {
        if (ownerWaiting) transport.wakeup();
        if (finished && admission.inFlight() == 0) closeDeviceWhenIdle();
    }

    /**
     * Reads and drops a refused WRITE's payload so the next request is found where it should be.
     * When closing begins meanwhile, the rest is left to {@link #finishClosing} ({@link ClosingNow}).
     */
    private void skipPayload(Request r) throws IOException {
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
    private long skipBuffered(long bytes) {
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

    /** Where a payload read stops for closing (what is left of the payload is dropped by {@link #finishClosing}). */
    private void cutIfClosing() throws ClosingNow {
        if (closing != null) throw ClosingNow.INSTANCE;
    }

    /** Closing began: the request being read is answered ESHUTDOWN instead of run. A signal, without a trace. */
    private static final class ClosingNow extends IOException {
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

    /**
     * Waits for the socket (plus writability when replies are held up); returns what is ready.
     * While replies are held up it looks every second whether the client is keeping memory from
     * connections that wait for it.
     */
    private int waitIo(int interest, long timeoutMillis) throws IOException {
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

    /**
     * The {@link Admission.Waiter} of this connection: waits for room (a lease coming back, a
     * reply going out) while watching the client. With room in the input buffer it reads ahead
     * into it, so a client that hangs up is seen at once; with the buffer full it asks the socket
     * every {@value #HANGUP_CHECK_MILLIS} ms whether the client hung up.
     */
    private void awaitAdmission(long maxMillis) throws IOException {
        if (closing != null) throw ClosingNow.INSTANCE;
        boolean room = in.remaining() < in.capacity();
        long timeout = room || (maxMillis >= 0 && maxMillis < HANGUP_CHECK_MILLIS) ? maxMillis : HANGUP_CHECK_MILLIS;
        int ready = waitIo(room ? Transport.READABLE : 0, timeout);
        if (room && (ready & Transport.READABLE) != 0) {
            in.compact();
            int n = transport.read(in);
            in.flip();
            if (n < 0) throw new EOFException("the client hung up while its request waited for room");
        } else if (!room && transport.peerClosed()) {
            throw new EOFException("the client hung up while its request waited for room");
        }
        if (closing != null) throw ClosingNow.INSTANCE;
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

    /** A client that holds the server's memory without making progress; only its connection is dropped. */
    public static final class StalledClientException extends IOException {
        private static final long serialVersionUID = 1L;

        StalledClientException(String message) {
            super(message);
        }
    }

    /**
     * How the connection closes. {@code reason} goes with every ESHUTDOWN it answers; requests in
     * flight may finish until {@code graceEndNanos} (Long.MAX_VALUE: no end, after DISC); once
     * idle, the connection closes after {@code lingerMillis}; {@code disconnected}: the client sent
     * DISC, nothing more is read.
     */
    private record Closing(String reason, long graceEndNanos, long lingerMillis, boolean disconnected) {
        /** The stricter of two: the earlier grace end and linger, DISC from either, the first reason other than DISC's. */
        Closing and(Closing other) {
            String why = disconnected && !other.disconnected ? other.reason : reason;
            long graceEnd = graceEndNanos == Long.MAX_VALUE ? other.graceEndNanos
                    : other.graceEndNanos == Long.MAX_VALUE || graceEndNanos - other.graceEndNanos < 0 ? graceEndNanos
                    : other.graceEndNanos;
            return new Closing(why, graceEnd, Math.min(lingerMillis, other.lingerMillis), disconnected || other.disconnected);
        }

        boolean graceOver(long nowNanos) {
            return graceEndNanos != Long.MAX_VALUE && nowNanos - graceEndNanos >= 0;
        }
    }

    private static long deadline(long millis) {
        long d = System.nanoTime() + millis * 1_000_000;
        return d == Long.MAX_VALUE ? d - 1 : d;
    }

    /** Starts closing, or makes a closing under way stricter. Any thread. */
    private void closeGracefully(Closing c) {
        synchronized (closeLock) {
            closing = closing == null ? c : closing.and(c);
        }
        transport.wakeup();
    }

    /**
     * The rest of a closing connection's life (see {@link Closing}): answers what it reads with
     * ESHUTDOWN, lets requests in flight finish, answers what is left at the grace end, and returns
     * once everything is answered and written (or the client stopped reading).
     */
    private void finishClosing() throws IOException {
        long idleSinceNanos = 0;
        for (;;) {
            Closing c = closing;
            long now = System.nanoTime();
            if (c.graceOver(now)) {
                int cut = shutDownAtDevice(c.reason());
                if (cut > 0) Logger.info("nbd: {}: {}; answered ESHUTDOWN to {} requests still in flight", transport.peer(), c.reason(), cut);
                flushReplies(deadline(FLUSH_AFTER_GRACE_MILLIS));
                return;
            }
            if (!c.disconnected()) answerBuffered(c);
            boolean idle = admission.inFlight() == 0 && out.isIdle() && payloadToSkip == 0
                    && (c.disconnected() || in.remaining() < HEADER_BYTES);
            if (!idle) {
                idleSinceNanos = 0;
            } else {
                if (idleSinceNanos == 0) idleSinceNanos = now;
                // Measured, not inferred from a wait returning: a wake-up may end a wait early.
                if ((now - idleSinceNanos) / 1_000_000 >= c.lingerMillis()) {
                    if (c.disconnected() || fill() <= 0) {
                        if (c.lingerMillis() > 0) Logger.info("nbd: {}: {}; closing the idle connection", transport.peer(), c.reason());
                        return;
                    }
                    continue; // a request came in just now: answer it first
                }
            }
            long waitMillis = c.graceEndNanos() == Long.MAX_VALUE ? -1 : Math.max(1, (c.graceEndNanos() - now + 999_999) / 1_000_000);
            if (idle) {
                long lingerLeft = Math.max(1, c.lingerMillis() - (now - idleSinceNanos) / 1_000_000);
                waitMillis = waitMillis < 0 ? lingerLeft : Math.min(waitMillis, lingerLeft);
            }
            boolean read = !c.disconnected() && !out.wantsWritable() && in.remaining() < in.capacity();
            ownerWaiting = true;
            try {
                int ready = waitIo(read ? Transport.READABLE : 0, waitMillis);
                if (read && (ready & Transport.READABLE) != 0 && fill() < 0) return;
            } finally {
                ownerWaiting = false;
            }
        }
    }

    /**
     * Answers ESHUTDOWN to every whole request in the input buffer (dropping WRITE payloads), as
     * long as replies go out; a DISC among them makes the closing {@code disconnected}.
     */
    private void answerBuffered(Closing c) throws IOException {
        while (!out.wantsWritable()) {
            if (payloadToSkip > 0) {
                payloadToSkip = skipBuffered(payloadToSkip);
                if (payloadToSkip > 0) return; // the rest is still on its way
            }
            if (in.remaining() < HEADER_BYTES) return;
            int at = in.position();
            int magic = in.getInt(at);
            if (magic != Nbd.REQUEST_MAGIC) throw new ProtocolException("bad request magic 0x" + Integer.toHexString(magic));
            int type = Short.toUnsignedInt(in.getShort(at + 6));
            long length = Integer.toUnsignedLong(in.getInt(at + 24));
            Request r = new Request(in.getLong(at + 8), type, Short.toUnsignedInt(in.getShort(at + 4)), in.getLong(at + 16),
                    (int) length);
            in.position(at + HEADER_BYTES);
            if (type == Nbd.CMD_DISC) {
                closeGracefully(new Closing(c.reason(), Long.MAX_VALUE, 0, true));
                return;
            }
            shutDown(r, c.reason());
            payloadToSkip = r.payloadLeft;
        }
    }

    /**
     * Answers a request of a closing connection at once: ESHUTDOWN, or the error it was refused
     * with. It takes a slot without waiting (a closing connection reads only while replies go out).
     */
    private void shutDown(Request r, String reason) {
        if (r.error == 0) r.refuse(Nbd.ESHUTDOWN, reason);
        r.lease = admission.admitNow();
        reply(r);
    }

    /** Answers ESHUTDOWN to every request the device still holds (it may complete them later, unanswered); returns how many. */
    private int shutDownAtDevice(String reason) {
        int n = 0;
        for (Request r : atDevice) if (r.answerNow(reason)) n++;
        return n;
    }

    /** Lets queued replies go out until {@code deadlineNanos}. */
    private void flushReplies(long deadlineNanos) throws IOException {
        while (!out.isIdle()) {
            long left = (deadlineNanos - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                Logger.info("nbd: {}: closing with replies the client did not take", transport.peer());
                return;
            }
            ownerWaiting = true;
            try {
                if (!out.isIdle()) waitIo(0, left);
            } finally {
                ownerWaiting = false;
            }
        }
    }

    private void wakeOwnerIfWaiting() {
        if (ownerWaiting) transport.wakeup();
    }

    private void onDeviceEvent(DeviceEvent event) {
        if (event.kind() == EventKind.REMOVED) deviceGone();
    }

    /** The device was removed: close, answering ESHUTDOWN meanwhile, once idle for goneLingerMillis. */
    private void deviceGone() {
        Closing c = closing;
        if (c != null && !c.disconnected() && c.lingerMillis() <= limits.goneLingerMillis()) return;
        closeGracefully(new Closing("device " + WireStrings.quote(session.name()) + " was removed",
                deadline(limits.shutdownGraceMillis()), limits.goneLingerMillis(), false));
    }

    /** Closes the device and the event subscription once the connection ended and nothing is in flight. */
    private void closeDeviceWhenIdle() {
        if (admission.inFlight() != 0) return;
        synchronized (closeLock) {
            if (deviceClosed) return;
            deviceClosed = true;
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

    /** Hands an admitted BLOCK_STATUS to the query pool; its reply goes out when the answer is there. */
    private void blockStatus(Request r) {
        r.kind = Request.BLOCK_STATUS;
        r.toDevice();
        try {
            queries.execute(() -> answerBlockStatus(r));
        } catch (RejectedExecutionException e) {
            r.accept(IoStatus.error(Errno.ESHUTDOWN, "the server is stopping"));
        }
    }

    /**
     * Asks the device for the allocation of the request's sectors and replies with it for
     * base:allocation: a hole reads as zeros (HOLE|ZERO), data is 0. Descriptors are clipped to
     * the request, so none reaches past its end (REQ_ONE requires that, older clients expect it)
     * and each fits the 32-bit length; with REQ_ONE only the first. An answer may cover less
     * than the request (the device's run limit): the client asks again from where it ends.
     */
    private void answerBlockStatus(Request r) {
        long end = r.end();
        try {
            long first = r.offset >>> Bio.SECTOR_SHIFT;
            long last = (end + Bio.SECTOR_BYTES - 1) >>> Bio.SECTOR_SHIFT;
            List<Extent> runs = device.allocation(first, last - first);
            int max = (r.flags & Nbd.CMD_FLAG_REQ_ONE) != 0 ? 1 : MAX_DESCRIPTORS;
            int[] descriptors = new int[2 * Math.min(runs.size(), max)];
            int n = 0;
            for (Extent e : runs) {
                long from = Math.max(r.offset, e.startSector() << Bio.SECTOR_SHIFT);
                long to = Math.min(end, e.endSector() << Bio.SECTOR_SHIFT);
                if (to <= from) continue;
                descriptors[2 * n] = (int) (to - from);
                descriptors[2 * n + 1] = e.kind() == Extent.Kind.HOLE ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0;
                if (++n == max) break;
            }
            if (n == 0) throw new DmException(Errno.EIO, "the device answered no run within the request");
            r.descriptors = Arrays.copyOf(descriptors, 2 * n);
            r.accept(IoStatus.OK);
        } catch (DmException e) {
            r.accept(IoStatus.error(e.errno(), e.getMessage()));
        } catch (RuntimeException e) {
            Logger.warn(e, "nbd: device {} failed an allocation query", session.name());
            r.accept(IoStatus.error(Errno.EIO, e.toString()));
        }
    }

    /** Queues a request's reply (the request is handed on from here). */
    private void reply(Request r) {
        r.answer();
    }

    /**
     * One request in flight: its own completion and its own reply message. It ends — and closes
     * its lease — once its reply was written (or dropped) and the device no longer holds it;
     * normally the reply follows the completion, but a closing connection may answer a request
     * before the device completes it ({@link #answerNow}), and then the completion only ends it.
     */
    private final class Request implements Consumer<IoStatus>, OutputQueue.Message {
        static final int SIMPLE = 0;
        static final int SIMPLE_NO_DATA = 1;
        static final int BLOCK_STATUS = 2;
        /** {@link #state} bits: the device (or the query pool) holds it; its reply is decided; its reply was written or dropped. */
        static final int AT_DEVICE = 1;
        static final int ANSWERED = 2;
        static final int REPLY_DONE = 4;

        final long handle;
        final int type;
        final int flags;
        final long offset;
        final int length;
        /** Everything the request holds (slot, bytes, buffer); given back when its reply is written or dropped. */
        Admission.Lease lease;
        /** Whether the request went on to the device, the query pool or the reply queue (which then end it). */
        boolean handedOff;
        /** A READ's reply payload: the lease's buffer, or the requested bytes within the covering blocks. */
        ByteBuffer data;
        /** BLOCK_STATUS: length and status flags of each descriptor, in turn. */
        int[] descriptors;
        /** The write's hold on its bytes of the export (UnalignedRequests), released on completion. */
        UnalignedRequests.Hold hold;
        int kind = SIMPLE;
        int error;
        String message;
        private final AtomicInteger state = new AtomicInteger();
        /** A WRITE's payload bytes not yet taken from the stream (the reader's). */
        long payloadLeft;

        Request(long handle, int type, int flags, long offset, int length) {
            this.handle = handle;
            this.type = type;
            this.flags = flags;
            this.offset = offset;
            this.length = length;
            this.payloadLeft = type == Nbd.CMD_WRITE ? Integer.toUnsignedLong(length) : 0;
        }

        /** Where the request's bytes end (its length is unsigned: a TRIM may ask for 4 GiB - 1). */
        long end() {
            return offset + Integer.toUnsignedLong(length);
        }

        /** Gives the lease back when the request failed before it was handed on (else its end does). */
        void abandon() {
            if (!handedOff && lease != null) lease.close();
        }

        /** Marks the request refused; returns the reason. */
        String refuse(int wireError, String reason) {
            error = wireError;
            message = reason;
            Logger.debug("nbd: {}: {} refused: {}", transport.peer(), Nbd.commandName(type), reason);
            return reason;
        }

        /** Handed to the device or the query pool, whose completion ({@link #accept}) answers it. */
        void toDevice() {
            handedOff = true;
            state.getAndUpdate(s -> s | AT_DEVICE);
            atDevice.add(this);
        }

        /** Queues the reply as the request stands (refused, or nothing to do). */
        void answer() {
            handedOff = true;
            state.getAndUpdate(s -> s | ANSWERED);
            out.send(this);
        }

        /** Answers ESHUTDOWN now unless the reply is already decided; false if it was. */
        boolean answerNow(String reason) {
            int was = state.getAndUpdate(s -> s | ANSWERED);
            if ((was & ANSWERED) != 0) return false;
            error = Nbd.ESHUTDOWN;
            message = reason;
            out.send(this);
            return true;
        }

        /** The device's completion: replies with it, unless the request was answered already. */
        @Override
        public void accept(IoStatus status) {
            if (hold != null) {
                unaligned.release(hold);
                hold = null;
            }
            atDevice.remove(this);
            Errno errno = status.isOk() ? null : status.isError() ? status.errno() : Errno.EIO;
            if (errno == Errno.ENODEV) deviceGone();
            int was = state.getAndUpdate(s -> (s & ~AT_DEVICE) | ANSWERED);
            if ((was & ANSWERED) == 0) {
                if (errno != null) {
                    error = Nbd.wireError(errno);
                    message = Nbd.commandName(type) + " at offset " + Long.toUnsignedString(offset) + " length " + length
                            + " failed: " + (status.message() == null ? errno.name() : errno.name() + ": " + status.message());
                }
                out.send(this);
            } else if ((was & REPLY_DONE) != 0) {
                finish();
            }
        }

        private boolean structuredRead() {
            return session.structured() && type == Nbd.CMD_READ;
        }

        @Override
        public int headerBytes() {
            if (error != 0) {
                return session.structured() ? 26 + Math.min(message.length() * 3, Nbd.MAX_STRING_BYTES) : 16;
            }
            if (kind == BLOCK_STATUS) return 24 + 4 * descriptors.length;
            if (structuredRead()) return length == 0 ? 20 : 28;
            return 16;
        }

        @Override
        public void encodeHeader(ByteBuffer b) {
            if (error != 0) {
                if (session.structured()) {
                    byte[] text = WireStrings.encode(message, Nbd.MAX_STRING_BYTES);
                    b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                            .putShort((short) Nbd.REPLY_TYPE_ERROR).putLong(handle).putInt(6 + text.length)
                            .putInt(error).putShort((short) text.length).put(text);
                } else {
                    b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
                }
            } else if (kind == BLOCK_STATUS) {
                b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                        .putShort((short) Nbd.REPLY_TYPE_BLOCK_STATUS).putLong(handle).putInt(4 + 4 * descriptors.length)
                        .putInt(Nbd.CONTEXT_BASE_ALLOCATION_ID);
                for (int v : descriptors) b.putInt(v);
            } else if (structuredRead()) {
                if (length == 0) {
                    b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                            .putShort((short) Nbd.REPLY_TYPE_NONE).putLong(handle).putInt(0);
                } else {
                    b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                            .putShort((short) Nbd.REPLY_TYPE_OFFSET_DATA).putLong(handle).putInt(8 + length)
                            .putLong(offset);
                }
            } else {
                b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(handle);
            }
        }

        @Override
        public ByteBuffer payload() {
            if (error != 0 || kind != SIMPLE || type != Nbd.CMD_READ || data == null) return null;
            return data;
        }

        @Override
        public void sent() {
            int was = state.getAndUpdate(s -> s | REPLY_DONE);
            if ((was & AT_DEVICE) == 0) finish();
        }

        /** The request is over: its lease goes back. */
        private void finish() {
            data = null;
            if (lease != null) lease.close();
        }
    }
}
