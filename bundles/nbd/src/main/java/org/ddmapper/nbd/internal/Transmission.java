package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.tinylog.Logger;

/**
 * The transmission phase of one server connection: the read loop and the dispatch of each
 * request, and the connection's close. The pieces it drives are each in a file of their own, as
 * nbdkit splits its protocol code: the header check ({@link RequestCheck}, pure), admission and
 * the memory budget ({@link Admission}: one lease per request), the input buffer, payloads and
 * their deadlines ({@link RequestInput}), the request in flight and its reply ({@link
 * ServerRequest}), and the block-status answer ({@link BlockStatusReply}).
 *
 * <p>Threads: the connection's own thread reads requests, checks them and submits them to the
 * device as asynchronous {@link Bio}s; each completion (on whatever thread the device completes
 * on) queues its reply on the {@link OutputQueue}, which writes it at once when no other reply is
 * being written. Replies go out in completion order, many requests in flight. BLOCK_STATUS
 * queries run on the server's query pool (a file answers them with system calls). Bad requests
 * are answered with the specification's error and never disturb the stream; only a bad request
 * magic (the stream is no longer framed) drops the connection.
 *
 * <p>Closing, for a server stop, the device's removal or a DISC, answers every request before the
 * connection closes ({@link Closing} says how).
 */
public final class Transmission {
    /**
     * How long a stopping connection with nothing in flight waits for another request before it
     * closes: a request the client sent as the last reply reached it is answered, not cut off.
     */
    private static final long STOP_QUIET_MILLIS = 100;
    /** How long replies still get to go out once the grace period is over (a client may have stopped reading). */
    private static final long FLUSH_AFTER_GRACE_MILLIS = 1_000;

    private final Transport transport;
    private final OutputQueue out;
    private final Session session;
    private final DeviceManager.OpenDevice device;
    private final UnalignedRequests unaligned;
    private final ServerLimits limits;
    private final Admission admission;
    private final RequestInput input;
    private final Executor queries;
    /** What this connection's requests share, including the ones the device holds. */
    private final ServerRequest.Shared shared;
    private volatile boolean ownerWaiting;
    /** Null while serving; set once by {@link #closeGracefully} and only tightened after. */
    private volatile Closing closing;
    /** Bytes of a WRITE payload the stream still holds after closing cut its reading short (the reader's). */
    private long payloadToSkip;
    private volatile boolean finished;
    private final Object closeLock = new Object();
    private final ExportHold export;

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
        this.input = new RequestInput(transport, out, admission, limits, () -> closing != null);
        Set<ServerRequest> atDevice = ConcurrentHashMap.newKeySet();
        this.shared = new ServerRequest.Shared(session, out, atDevice, this::deviceGone, transport.peer());
        this.export = new ExportHold(session, devices, this::deviceGone);
    }

    /** Serves requests until the client hangs up, or the connection has closed (DISC, a stop, a removed device). */
    public void run() throws IOException {
        try {
            for (;;) {
                if (closing != null) {
                    finishClosing();
                    return;
                }
                if (input.hasHeader()) {
                    handleRequest();
                    continue;
                }
                if (input.fill() < 0) return;
                if (!input.hasHeader() && closing == null) input.waitIo(Transport.READABLE, -1);
            }
        } finally {
            finished = true;
            transport.close();
            out.close();
            export.closeIfIdle(true, admission.inFlight());
        }
    }

    /** The server stops: close as {@link Closing} says, within the grace period. Any thread. */
    public void stop() {
        closeGracefully(Closing.within("the server is stopping", limits.shutdownGraceMillis(), STOP_QUIET_MILLIS));
    }

    /** The most data bytes this connection held at once (for tests of the memory bound). */
    public long maxInFlightBytesSeen() {
        return admission.maxInFlightBytesSeen();
    }

    /** Handles one request at the head of the input (a DISC starts closing). */
    private void handleRequest() throws IOException {
        RequestHeader h = input.header();
        if (h.type() == Nbd.CMD_DISC) {
            closeGracefully(Closing.disconnect("the client disconnected"));
            return;
        }
        ServerRequest r = new ServerRequest(h, shared);
        Closing c = closing;
        RequestCheck.Refusal refusal = RequestCheck.check(h, session, limits.maxPayloadBytes(), c == null ? null : c.reason());
        if (refusal != null) r.refuse(refusal.wireError(), refusal.reason());
        try {
            dispatch(r, refusal != null);
        } catch (RequestInput.ClosingNow e) {
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
    private void dispatch(ServerRequest r, boolean refused) throws IOException {
        if (refused) {
            if (r.type == Nbd.CMD_WRITE) input.skipPayload(r);
            r.lease = admission.admit(0, input::awaitRoom);
            r.answer();
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
                r.lease = admission.admit(0, input::awaitRoom);
                submit(r, Bio.flush(r));
            }
            case Nbd.CMD_TRIM -> submitRange(r, BioOp.DISCARD, fua(r.flags));
            case Nbd.CMD_WRITE_ZEROES ->
                    submitRange(r, BioOp.WRITE_ZEROES, fua(r.flags) | ((r.flags & Nbd.CMD_FLAG_NO_HOLE) != 0 ? Bio.NO_HOLE : 0));
            case Nbd.CMD_BLOCK_STATUS -> {
                r.lease = admission.admit(0, input::awaitRoom);
                blockStatus(r);
            }
            default -> throw new IllegalStateException("unchecked command " + r.type);
        }
    }

    private void submitRead(ServerRequest r) throws IOException {
        r.lease = admission.admit(r.length, input::awaitRoom);
        if (r.length == 0) {
            r.answer();
            return;
        }
        r.data = r.lease.buffer();
        if (r.type == Nbd.CMD_CACHE) r.kind = ServerRequest.SIMPLE_NO_DATA;
        submit(r, Bio.read(r.offset >>> Bio.SECTOR_SHIFT, r.data.duplicate(), r));
    }

    private void submitWrite(ServerRequest r) throws IOException {
        if (r.length == 0) {
            r.lease = admission.admit(0, input::awaitRoom);
            r.answer();
            return;
        }
        ByteBuffer data = receivePayload(r, r.length, 0);
        submitWriting(r, Bio.write(r.offset >>> Bio.SECTOR_SHIFT, data.duplicate(), fua(r.flags), r), r.offset, r.end());
    }

    /**
     * Takes the lease of a WRITE with a buffer of {@code bytes} once its payload has begun to
     * arrive, and reads the payload into it at {@code at}; returns the buffer (position 0, limit
     * {@code bytes}). On failure the caller gives the lease back.
     */
    private ByteBuffer receivePayload(ServerRequest r, int bytes, int at) throws IOException {
        input.awaitPayloadStart(r.length);
        r.lease = admission.admit(bytes, input::awaitRoom);
        ByteBuffer data = r.lease.buffer();
        input.readPayload(r, data.duplicate().position(at).limit(at + r.length));
        return data;
    }

    private void submitRange(ServerRequest r, BioOp op, int bioFlags) throws IOException {
        r.lease = admission.admit(0, input::awaitRoom);
        if (r.length == 0) {
            r.answer();
            return;
        }
        submitWriting(r, Bio.of(op, r.offset >>> Bio.SECTOR_SHIFT, r.length >>> Bio.SECTOR_SHIFT, null, bioFlags, r),
                r.offset, r.end());
    }

    /** Hands the device a bio that changes the export's bytes [start, end), ordered against read-modify-writes of them. */
    private void submitWriting(ServerRequest r, Bio bio, long start, long end) {
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
    private void submitUnaligned(ServerRequest r) throws IOException {
        UnalignedRequests.Span s = UnalignedRequests.span(r.offset, Integer.toUnsignedLong(r.length), session.blockBytes(),
                session.sizeBytes());
        switch (r.type) {
            case Nbd.CMD_READ, Nbd.CMD_CACHE -> {
                r.lease = admission.admit(s.coverBytes(), input::awaitRoom);
                if (r.type == Nbd.CMD_CACHE) r.kind = ServerRequest.SIMPLE_NO_DATA;
                ByteBuffer cover = r.lease.buffer().duplicate();
                r.data = r.lease.buffer().duplicate().limit(s.head() + r.length).position(s.head()); // the reply's payload
                submit(r, Bio.read(s.startSector(), cover, r));
            }
            case Nbd.CMD_WRITE, Nbd.CMD_WRITE_ZEROES -> {
                ByteBuffer data;
                if (r.type == Nbd.CMD_WRITE) {
                    data = receivePayload(r, s.readModifyWriteBytes(), s.head());
                } else {
                    r.lease = admission.admit(s.readModifyWriteBytes(), input::awaitRoom);
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
                r.lease = admission.admit(0, input::awaitRoom);
                long from = s.innerStart(), to = s.innerEnd();
                if (from >= to) {
                    r.answer(); // no whole block inside: a trim is only a hint
                } else {
                    submitWriting(r, Bio.of(BioOp.DISCARD, from >>> Bio.SECTOR_SHIFT, (to - from) >>> Bio.SECTOR_SHIFT, null,
                            fua(r.flags), r), from, to);
                }
            }
            default -> throw new IllegalStateException("unaligned command " + r.type);
        }
    }

    /** Hands an admitted request's one bio to the device (the request is handed on from here); its completion replies. */
    private void submit(ServerRequest r, Bio bio) {
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

    /** Hands an admitted BLOCK_STATUS to the query pool; its reply goes out when the answer is there. */
    private void blockStatus(ServerRequest r) {
        r.kind = ServerRequest.BLOCK_STATUS;
        r.toDevice();
        try {
            queries.execute(() -> {
                try {
                    r.descriptors = BlockStatusReply.query(device, session.name(), r.offset, r.end(),
                            (r.flags & Nbd.CMD_FLAG_REQ_ONE) != 0);
                    r.accept(IoStatus.OK);
                } catch (DmException e) {
                    r.accept(IoStatus.error(e.errno(), e.getMessage()));
                }
            });
        } catch (RejectedExecutionException e) {
            r.accept(IoStatus.error(Errno.ESHUTDOWN, "the server is stopping"));
        }
    }

    private static int fua(int flags) {
        return (flags & Nbd.CMD_FLAG_FUA) != 0 ? Bio.FUA : 0;
    }

    /** Runs after a lease was given back: wakes a reader that waits for it, closes the device once all ended. */
    private void released() {
        if (ownerWaiting) transport.wakeup();
        export.closeIfIdle(finished, admission.inFlight());
    }

    // ---- closing

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
                int cut = shared.answerAllNow(c.reason());
                if (cut > 0) Logger.info("nbd: {}: {}; answered ESHUTDOWN to {} requests still in flight", transport.peer(), c.reason(), cut);
                flushReplies(System.nanoTime() + FLUSH_AFTER_GRACE_MILLIS * 1_000_000);
                return;
            }
            if (!c.disconnected()) answerBuffered(c);
            boolean idle = admission.inFlight() == 0 && out.isIdle() && payloadToSkip == 0
                    && (c.disconnected() || !input.hasHeader());
            if (!idle) {
                idleSinceNanos = 0;
            } else {
                if (idleSinceNanos == 0) idleSinceNanos = now;
                // Measured, not inferred from a wait returning: a wake-up may end a wait early.
                if ((now - idleSinceNanos) / 1_000_000 >= c.lingerMillis()) {
                    if (c.disconnected() || input.fill() <= 0) {
                        if (c.lingerMillis() > 0) Logger.info("nbd: {}: {}; closing the idle connection", transport.peer(), c.reason());
                        return;
                    }
                    continue; // a request came in just now: answer it first
                }
            }
            long waitMillis = c.graceLeftMillis(now);
            if (idle) {
                long lingerLeft = Math.max(1, c.lingerMillis() - (now - idleSinceNanos) / 1_000_000);
                waitMillis = waitMillis < 0 ? lingerLeft : Math.min(waitMillis, lingerLeft);
            }
            boolean read = !c.disconnected() && !out.wantsWritable() && input.hasRoom();
            ownerWaiting = true;
            try {
                int ready = input.waitIo(read ? Transport.READABLE : 0, waitMillis);
                if (read && (ready & Transport.READABLE) != 0 && input.fill() < 0) return;
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
                payloadToSkip = input.skipBuffered(payloadToSkip);
                if (payloadToSkip > 0) return; // the rest is still on its way
            }
            if (!input.hasHeader()) return;
            RequestHeader h = input.header();
            if (h.type() == Nbd.CMD_DISC) {
                closeGracefully(Closing.disconnect(c.reason()));
                return;
            }
            ServerRequest r = new ServerRequest(h, shared);
            shutDown(r, c.reason());
            payloadToSkip = r.payloadLeft;
        }
    }

    /**
     * Answers a request of a closing connection at once: ESHUTDOWN, or the error it was refused
     * with. It takes a slot without waiting (a closing connection reads only while replies go out).
     */
    private void shutDown(ServerRequest r, String reason) {
        if (r.error == 0) r.refuse(Nbd.ESHUTDOWN, reason);
        r.lease = admission.admitNow();
        r.answer();
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
                if (!out.isIdle()) input.waitIo(0, left);
            } finally {
                ownerWaiting = false;
            }
        }
    }

    private void wakeOwnerIfWaiting() {
        if (ownerWaiting) transport.wakeup();
    }

    /** The device was removed: close, answering ESHUTDOWN meanwhile, once idle for goneLingerMillis. */
    private void deviceGone() {
        Closing c = closing;
        if (c != null && !c.disconnected() && c.lingerMillis() <= limits.goneLingerMillis()) return;
        closeGracefully(Closing.within("device " + WireStrings.quote(session.name()) + " was removed",
                limits.shutdownGraceMillis(), limits.goneLingerMillis()));
    }
}
