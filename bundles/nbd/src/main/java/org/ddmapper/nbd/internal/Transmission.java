package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
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
 */
public final class Transmission {
    private static final int HEADER_BYTES = 28;
    private static final int IN_BUFFER_BYTES = 64 * 1024;
    private static final long STALL_CHECK_MILLIS = 1_000;
    /** How often a reader waiting with a full input buffer asks whether its client hung up. */
    private static final long HANGUP_CHECK_MILLIS = 500;
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
    private volatile boolean ownerWaiting;
    private volatile boolean gone;
    private volatile boolean stopping;
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

    /** Serves requests until the client disconnects (DISC or hang-up) or the server stops. */
    public void run() throws IOException {
        in.clear().flip();
        long idleSinceNanos = 0; // while the device is gone and nothing is in flight: since when
        try {
            for (;;) {
                if (stopping) {
                    drainInFlight(limits.shutdownGraceMillis());
                    return;
                }
                if (in.remaining() >= HEADER_BYTES) {
                    idleSinceNanos = 0;
                    if (!handleRequest()) {
                        drainInFlight(-1);
                        return;
                    }
                    continue;
                }
                in.compact();
                int n = transport.read(in);
                in.flip();
                if (n < 0) return;
                if (n == 0) {
                    if (!gone || admission.inFlight() != 0) {
                        idleSinceNanos = 0;
                        waitIo(Transport.READABLE, -1);
                        continue;
                    }
                    // Measured, not inferred from a wait returning: a wake-up may end a wait early.
                    long now = System.nanoTime();
                    if (idleSinceNanos == 0) idleSinceNanos = now;
                    long leftMillis = limits.goneLingerMillis() - (now - idleSinceNanos) / 1_000_000;
                    if (leftMillis <= 0) {
                        Logger.info("nbd: {}: device {} was removed; closing the idle connection", transport.peer(), session.name());
                        return;
                    }
                    waitIo(Transport.READABLE, leftMillis);
                }
            }
        } finally {
            finished = true;
            transport.close();
            out.close();
            closeDeviceWhenIdle();
        }
    }

    /** Asks the loop to finish: stop reading, let in-flight requests complete for a grace period, close. */
    public void stop() {
        stopping = true;
        transport.wakeup();
    }

    /** The most data bytes this connection held at once (for tests of the memory bound). */
    public long maxInFlightBytesSeen() {
        return admission.maxInFlightBytesSeen();
    }

    /** Handles one request at the head of the input; false when it was NBD_CMD_DISC. */
    private boolean handleRequest() throws IOException {
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

        if (type == Nbd.CMD_DISC) return false;
        Request r = new Request(handle, type, flags, offset, (int) length);
        try {
            dispatch(r, check(type, flags, offset, length, r) != null);
        } catch (IOException | RuntimeException | Error e) {
            r.abandon();
            throw e;
        }
        return true;
    }

    /**
     * Takes a request's lease and hands the request on (to the device, the query pool, or the
     * reply queue when it is refused or has nothing to do). Whatever it throws, the caller gives
     * the lease back unless the request was handed on.
     */
    private void dispatch(Request r, boolean refused) throws IOException {
        if (refused) {
            if (r.type == Nbd.CMD_WRITE) skipPayload(Integer.toUnsignedLong(r.length));
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
        if (gone) return r.refuse(Nbd.ESHUTDOWN, "device " + WireStrings.quote(session.name()) + " was removed");
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
        }
        long deadline = System.nanoTime() + limits.payloadMillis() * 1_000_000;
        while (payload.hasRemaining()) {
            int n = transport.read(payload);
            if (n < 0) throw new EOFException("connection closed in the middle of a " + r.length + "-byte WRITE payload");
            if (n == 0) awaitPayload(deadline, r.length, payload.position() - at);
            if (stopping) throw new IOException("server stopping");
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
                if (n == 0) awaitPayload(deadline, length, in.position());
                if (stopping) throw new IOException("server stopping");
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
        r.handedOff = true;
        unaligned.runWrite(start, end, hold -> {
            r.hold = hold;
            submit(r, bio);
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
                r.handedOff = true;
                unaligned.runHolding(s.start(), s.end(), hold -> {
                    r.hold = hold;
                    try {
                        UnalignedRequests.readModifyWrite(s, data, fua(r.flags), bio -> submit(r, bio), r);
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

    /** Hands an admitted request's bio to the device (the request is handed on from here); its completion replies. */
    private void submit(Request r, Bio bio) {
        r.handedOff = true;
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

    /** Runs after a lease was given back: wakes a reader draining or lingering, closes the device once all ended. */
    private void released() {
        // The owner also lingers on a removed device only from the moment nothing is in flight.
        if (ownerWaiting || (gone && admission.inFlight() == 0)) transport.wakeup();
        if (finished && admission.inFlight() == 0) closeDeviceWhenIdle();
    }

    /** Reads and drops a refused WRITE's payload so the next request is found where it should be. */
    private void skipPayload(long length) throws IOException {
        long left = length;
        int fromInput = (int) Math.min(in.remaining(), left);
        in.position(in.position() + fromInput);
        left -= fromInput;
        if (left == 0) return; // the payload was all buffered: what follows it (pipelined requests) stays
        // The input buffer is empty now; read the rest of the payload into it, never past its end.
        long deadline = System.nanoTime() + limits.payloadMillis() * 1_000_000;
        while (left > 0) {
            in.clear().limit((int) Math.min(in.capacity(), left));
            int n = transport.read(in);
            if (n < 0) throw new EOFException("connection closed in the middle of a refused WRITE payload");
            if (n == 0) awaitPayload(deadline, length, length - left);
            if (stopping) throw new IOException("server stopping");
            left -= n;
        }
        in.clear().flip();
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
        if (stopping) throw new IOException("server stopping");
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
        if (stopping) throw new IOException("server stopping");
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

    /** After DISC or on stop: let requests in flight finish and their replies go out, then return. */
    private void drainInFlight(long graceMillis) throws IOException {
        long deadline = graceMillis < 0 ? Long.MAX_VALUE : System.nanoTime() + graceMillis * 1_000_000;
        while (admission.inFlight() > 0 || !out.isIdle()) {
            long left = deadline == Long.MAX_VALUE ? -1 : (deadline - System.nanoTime()) / 1_000_000;
            if (deadline != Long.MAX_VALUE && left <= 0) {
                Logger.info("nbd: {}: closing with {} requests still in flight", transport.peer(), admission.inFlight());
                return;
            }
            ownerWaiting = true;
            try {
                if (admission.inFlight() > 0 || !out.isIdle()) waitIo(0, left < 0 ? -1 : Math.max(1, left));
            } finally {
                ownerWaiting = false;
            }
        }
    }

    private void wakeOwnerIfWaiting() {
        if (ownerWaiting) transport.wakeup();
    }

    private void onDeviceEvent(DeviceEvent event) {
        if (event.kind() == EventKind.REMOVED) markGone();
    }

    private void markGone() {
        if (!gone) {
            gone = true;
            transport.wakeup();
        }
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
        r.handedOff = true;
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
        r.handedOff = true;
        out.send(r);
    }

    /** One request in flight: its own completion and its own reply message. */
    private final class Request implements Consumer<IoStatus>, OutputQueue.Message {
        static final int SIMPLE = 0;
        static final int SIMPLE_NO_DATA = 1;
        static final int BLOCK_STATUS = 2;

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

        Request(long handle, int type, int flags, long offset, int length) {
            this.handle = handle;
            this.type = type;
            this.flags = flags;
            this.offset = offset;
            this.length = length;
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

        @Override
        public void accept(IoStatus status) {
            if (hold != null) {
                unaligned.release(hold);
                hold = null;
            }
            if (!status.isOk()) {
                Errno errno = status.isError() ? status.errno() : Errno.EIO;
                if (errno == Errno.ENODEV) markGone();
                error = Nbd.wireError(errno);
                message = Nbd.commandName(type) + " at offset " + Long.toUnsignedString(offset) + " length " + length
                        + " failed: " + (status.message() == null ? errno.name() : errno.name() + ": " + status.message());
            }
            out.send(this);
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
            data = null;
            if (lease != null) lease.close();
        }
    }
}
