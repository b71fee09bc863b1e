package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.BioJoin;
import org.tinylog.Logger;

/**
 * A remote NBD export as a {@link BlockDevice}: the NBD client used as a path transport.
 *
 * <p>Requests are sent as they are submitted (split at the server's maximum block size), many in
 * flight, through the same non-blocking {@link OutputQueue} the server uses; one reader thread
 * per connection takes replies in any order (simple or structured) and completes the requests.
 *
 * <p>A lost connection fails every request in flight, and every later one, with ENOTCONN (a path
 * error: multipath fails the path and retries elsewhere); garbage from the server fails them with
 * EPROTO. A server that answers {@code NBD_ESHUTDOWN} is going away: that request and every later
 * one fail at once with ESHUTDOWN (also a path error) and the reason, while replies to the
 * requests still in flight are taken as they come until the server closes; what is left then
 * fails with ESHUTDOWN too. The client never reconnects by itself. {@link #close()} fails what
 * is in flight with ENODEV and guarantees that once it returns no reply is copied into any
 * request's buffer any more, so a caller may reuse the buffers of requests it gave up on.
 */
public final class NbdClientDevice implements BlockDevice {
    private static final int IN_BUFFER_BYTES = 64 * 1024;
    private static final int MAX_TRIM_BYTES = 1 << 30;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private final NbdUri uri;
    private final Transport transport;
    private final OutputQueue out;
    private final long sizeBytes;
    private final int flags;
    private final int minBlockBytes;
    private final int maxChunkBytes;
    private final boolean readOnly;
    private final ConcurrentHashMap<Long, ClientRequest> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong handles = new AtomicLong(1);
    private final ReentrantLock delivery = new ReentrantLock();
    private final ByteBuffer in = ByteBuffer.allocateDirect(IN_BUFFER_BYTES);
    private volatile Errno failureErrno;
    private volatile String failure;

    private NbdClientDevice(NbdUri uri, Transport transport, ClientHandshake.Result export, boolean readOnly) {
        this.uri = uri;
        this.transport = transport;
        this.out = new OutputQueue(transport, () -> { });
        this.sizeBytes = export.sizeBytes() & ~((long) Bio.SECTOR_BYTES - 1);
        this.flags = export.flags();
        this.minBlockBytes = export.minBlockBytes();
        int max = export.maxBlockBytes() <= 0 ? Nbd.MAX_PAYLOAD_BYTES : Math.min(export.maxBlockBytes(), Nbd.MAX_PAYLOAD_BYTES);
        this.maxChunkBytes = Math.max(Bio.SECTOR_BYTES, max & ~(Bio.SECTOR_BYTES - 1));
        this.readOnly = readOnly || (flags & Nbd.FLAG_READ_ONLY) != 0;
    }

    /** A client over a negotiated transport; starts its reader thread. */
    public static NbdClientDevice start(NbdUri uri, Transport transport, ClientHandshake.Result export, boolean readOnly) {
        NbdClientDevice d = new NbdClientDevice(uri, transport, export, readOnly);
        Thread t = new Thread(null, d::readReplies, "nbd-client " + uri.reference(), 256 * 1024);
        t.setDaemon(true);
        t.start();
        return d;
    }

    @Override
    public String reference() {
        return uri.reference();
    }

    @Override
    public long sizeSectors() {
        return sizeBytes >>> Bio.SECTOR_SHIFT;
    }

    @Override
    public int logicalBlockBytes() {
        return Math.max(Bio.SECTOR_BYTES, minBlockBytes);
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public boolean supports(BioOp op) {
        return switch (op) {
            case READ, WRITE, FLUSH -> true;
            case DISCARD -> (flags & Nbd.FLAG_SEND_TRIM) != 0;
            case WRITE_ZEROES -> (flags & Nbd.FLAG_SEND_WRITE_ZEROES) != 0;
        };
    }

    /** The transmission flags the server announced. */
    public int transmissionFlags() {
        return flags;
    }

    /** Whether the connection is up. */
    public boolean connected() {
        return failure == null;
    }

    @Override
    public void submit(Bio bio) {
        String f = failure;
        if (f != null) {
            bio.fail(failureErrno, f);
            return;
        }
        BioOp op = bio.op();
        long offset = bio.sector() << Bio.SECTOR_SHIFT;
        long length = bio.lengthBytes();
        if (op != BioOp.FLUSH && offset + length > sizeBytes) {
            bio.fail(op.isWrite() ? Errno.ENOSPC : Errno.EINVAL, reference() + ": " + op + " at sector " + bio.sector()
                    + " of " + bio.lengthSectors() + " sectors is beyond the end (" + sizeSectors() + " sectors)");
            return;
        }
        if (readOnly && op.isWrite()) {
            bio.fail(Errno.EROFS, reference() + " is read-only");
            return;
        }
        boolean fua = bio.isFua() && op.isWrite();
        boolean emulateFua = fua && (flags & Nbd.FLAG_SEND_FUA) == 0 && (flags & Nbd.FLAG_SEND_FLUSH) != 0;
        int cmdFlags = fua && !emulateFua && (flags & Nbd.FLAG_SEND_FUA) != 0 ? Nbd.CMD_FLAG_FUA : 0;
        Bio whole = emulateFua ? bio.withCompletion(status -> flushAfter(bio, status)) : bio;
        switch (op) {
            case READ, WRITE -> {
                if (length == 0) {
                    whole.complete(IoStatus.OK);
                    return;
                }
                BioJoin parts = new BioJoin(whole, pieces(length, maxChunkBytes));
                ByteBuffer data = bio.data();
                int base = data.position();
                for (long at = 0; at < length; at += maxChunkBytes) {
                    int n = (int) Math.min(maxChunkBytes, length - at);
                    ByteBuffer slice = data.duplicate().position(base + (int) at).limit(base + (int) at + n).slice();
                    if (op == BioOp.READ) send(request(Nbd.CMD_READ, 0, offset + at, n, null, slice, parts));
                    else send(request(Nbd.CMD_WRITE, cmdFlags, offset + at, n, slice, null, parts));
                }
            }
            case FLUSH -> {
                if ((flags & Nbd.FLAG_SEND_FLUSH) == 0) bio.complete(IoStatus.OK);
                else send(request(Nbd.CMD_FLUSH, 0, 0, 0, null, null, bio::complete));
            }
            case DISCARD -> {
                if ((flags & Nbd.FLAG_SEND_TRIM) == 0 || length == 0) {
                    whole.complete(IoStatus.OK); // a hint the server cannot take: dropped
                    return;
                }
                BioJoin parts = new BioJoin(whole, pieces(length, MAX_TRIM_BYTES));
                for (long at = 0; at < length; at += MAX_TRIM_BYTES) {
                    int n = (int) Math.min(MAX_TRIM_BYTES, length - at);
                    send(request(Nbd.CMD_TRIM, cmdFlags, offset + at, n, null, null, parts));
                }
            }
            case WRITE_ZEROES -> {
                if (length == 0) {
                    whole.complete(IoStatus.OK);
                    return;
                }
                boolean native_ = (flags & Nbd.FLAG_SEND_WRITE_ZEROES) != 0;
                int chunk = native_ ? maxChunkBytes : Math.min(maxChunkBytes, ZEROES.capacity());
                int zeroFlags = cmdFlags | ((bio.flags() & Bio.NO_HOLE) != 0 ? Nbd.CMD_FLAG_NO_HOLE : 0);
                BioJoin parts = new BioJoin(whole, pieces(length, chunk));
                for (long at = 0; at < length; at += chunk) {
                    int n = (int) Math.min(chunk, length - at);
                    if (native_) {
                        send(request(Nbd.CMD_WRITE_ZEROES, zeroFlags, offset + at, n, null, null, parts));
                    } else {
                        ByteBuffer zeroes = ZEROES.duplicate().limit(n);
                        send(request(Nbd.CMD_WRITE, cmdFlags, offset + at, n, zeroes, null, parts));
                    }
                }
            }
        }
    }

    /** How many requests of at most {@code chunk} bytes carry {@code length} bytes (at least one). */
    private static int pieces(long length, int chunk) {
        return (int) ((length + chunk - 1) / chunk);
    }

    private ClientRequest request(int cmd, int cmdFlags, long offset, int length, ByteBuffer payload, ByteBuffer readInto,
                                  Consumer<IoStatus> done) {
        return new ClientRequest(handles.getAndIncrement(), cmd, cmdFlags, offset, length, payload, readInto, done);
    }

    /** FUA on a server without FUA: the write, then a flush, then the completion. */
    private void flushAfter(Bio bio, IoStatus status) {
        if (!status.isOk()) {
            bio.complete(status);
            return;
        }
        send(request(Nbd.CMD_FLUSH, 0, 0, 0, null, null, bio::complete));
    }

    private void send(ClientRequest p) {
        inFlight.put(p.handle, p);
        if (failure != null) {
            if (inFlight.remove(p.handle) != null) p.done.accept(IoStatus.error(failureErrno, failure));
            return;
        }
        out.send(p);
    }

    @Override
    public void close() {
        boolean wasUp;
        synchronized (this) {
            wasUp = failure == null;
            if (wasUp) {
                failureErrno = Errno.ENODEV;
                failure = reference() + ": device closed";
            }
        }
        // A soft disconnect when nothing is pending (best effort); the server then closes its side.
        if (wasUp && inFlight.isEmpty()) out.send(request(Nbd.CMD_DISC, 0, 0, 0, null, null, s -> { }));
        fail(Errno.ENODEV, reference() + ": device closed");
    }

    /**
     * The server answered ESHUTDOWN: it is going away. Later requests fail at once with ESHUTDOWN
     * and {@code why}; those in flight still take the replies the server sends before it closes.
     */
    private void serverShuttingDown(String why) {
        synchronized (this) {
            if (failure != null) return;
            failureErrno = Errno.ESHUTDOWN;
            failure = reference() + ": the server is shutting down: " + why;
            Logger.warn("nbd: {}", failure);
        }
    }

    /** Ends the connection: every request in flight and every later one fails with {@code errno}. */
    private void fail(Errno errno, String why) {
        synchronized (this) {
            if (failure == null) {
                failureErrno = errno;
                failure = why;
                if (errno != Errno.ENODEV) Logger.warn("nbd: {}", why);
            }
        }
        transport.close();
        out.close();
        // A barrier: a reply being copied into a request's buffer right now finishes first (it ends
        // promptly, the transport is closed); none starts after, since the reader checks failure.
        delivery.lock();
        delivery.unlock();
        List<ClientRequest> pending = new ArrayList<>(inFlight.values());
        for (ClientRequest p : pending) {
            if (inFlight.remove(p.handle) != null) p.done.accept(IoStatus.error(failureErrno, failure));
        }
    }

    // ---- the reader thread ----

    private void readReplies() {
        in.clear().flip();
        try {
            for (;;) {
                ensure(4);
                int magic = in.getInt(in.position());
                if (magic == Nbd.SIMPLE_REPLY_MAGIC) simpleReply();
                else if (magic == Nbd.STRUCTURED_REPLY_MAGIC) structuredChunk();
                else throw new ProtocolException("bad reply magic 0x" + Integer.toHexString(magic));
            }
        } catch (ProtocolException e) {
            fail(Errno.EPROTO, reference() + ": protocol error from the server: " + e.getMessage());
        } catch (IOException e) {
            String why = e instanceof EOFException ? "closed by the server" : e.getMessage();
            fail(Errno.ENOTCONN, reference() + ": connection lost: " + why);
        } catch (RuntimeException | Error e) {
            Logger.error(e, "nbd: {}: reader failed", reference());
            fail(Errno.EIO, reference() + ": client failed: " + e);
        } finally {
            transport.release();
        }
    }

    private void simpleReply() throws IOException {
        ensure(16);
        in.getInt();
        int error = in.getInt();
        long handle = in.getLong();
        ClientRequest p = inFlight.get(handle);
        if (p == null) throw new ProtocolException("reply for unknown handle " + handle);
        delivery.lock();
        try {
            if (failure != null) throw new EOFException("closed");
            if (p.cmd == Nbd.CMD_READ && error == 0) readInto(p.readInto.duplicate().clear());
        } finally {
            delivery.unlock();
        }
        if (error == Nbd.ESHUTDOWN) serverShuttingDown(Nbd.commandName(p.cmd) + " answered ESHUTDOWN");
        if (inFlight.remove(handle) != null) {
            p.done.accept(error == 0 ? IoStatus.OK : IoStatus.error(Nbd.errnoOf(error),
                    reference() + ": " + Nbd.commandName(p.cmd) + " failed on the server (NBD error " + error + ", "
                            + Nbd.errnoOf(error) + ")"));
        }
    }

    private void structuredChunk() throws IOException {
        ensure(20);
        in.getInt();
        int chunkFlags = Short.toUnsignedInt(in.getShort());
        int type = Short.toUnsignedInt(in.getShort());
        long handle = in.getLong();
        long length = Integer.toUnsignedLong(in.getInt());
        ClientRequest p = inFlight.get(handle);
        if (p == null) throw new ProtocolException("reply chunk for unknown handle " + handle);
        switch (type) {
            case Nbd.REPLY_TYPE_NONE -> {
                if (length != 0) throw new ProtocolException("NONE chunk with " + length + " bytes");
            }
            case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                if (length < 9 || p.cmd != Nbd.CMD_READ) throw new ProtocolException("unexpected data chunk");
                ensure(8);
                long rel = in.getLong() - p.offset;
                long n = length - 8;
                if (rel < 0 || rel + n > p.length) throw new ProtocolException("data chunk outside the request");
                delivery.lock();
                try {
                    if (failure != null) throw new EOFException("closed");
                    readInto(p.readInto.duplicate().clear().position((int) rel).limit((int) (rel + n)));
                } finally {
                    delivery.unlock();
                }
            }
            case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
                if (length != 12 || p.cmd != Nbd.CMD_READ) throw new ProtocolException("unexpected hole chunk");
                ensure(12);
                long rel = in.getLong() - p.offset;
                long n = Integer.toUnsignedLong(in.getInt());
                if (rel < 0 || rel + n > p.length) throw new ProtocolException("hole chunk outside the request");
                delivery.lock();
                try {
                    if (failure != null) throw new EOFException("closed");
                    ByteBuffer dst = p.readInto.duplicate().clear().position((int) rel).limit((int) (rel + n));
                    while (dst.hasRemaining()) dst.put(ZEROES.duplicate().limit(Math.min(dst.remaining(), ZEROES.capacity())));
                } finally {
                    delivery.unlock();
                }
            }
            default -> {
                if ((type & 0x8000) == 0) {
                    if (type == Nbd.REPLY_TYPE_BLOCK_STATUS) skip(length);
                    else throw new ProtocolException("unknown reply chunk type " + type);
                } else {
                    if (length < 6 || length > 64 * 1024) throw new ProtocolException("bad error chunk length " + length);
                    ensure((int) length);
                    int error = in.getInt();
                    int messageLength = Short.toUnsignedInt(in.getShort());
                    if (messageLength > length - 6) throw new ProtocolException("error message longer than its chunk");
                    byte[] message = new byte[messageLength];
                    in.get(message);
                    in.position(in.position() + (int) (length - 6 - messageLength));
                    p.error = error == 0 ? Nbd.EIO : error;
                    p.message = new String(message, java.nio.charset.StandardCharsets.UTF_8);
                }
            }
        }
        if ((chunkFlags & Nbd.REPLY_FLAG_DONE) != 0 && p.error == Nbd.ESHUTDOWN) {
            serverShuttingDown(p.message.isEmpty() ? Nbd.commandName(p.cmd) + " answered ESHUTDOWN" : p.message);
        }
        if ((chunkFlags & Nbd.REPLY_FLAG_DONE) != 0 && inFlight.remove(handle) != null) {
            p.done.accept(p.error == 0 ? IoStatus.OK : IoStatus.error(Nbd.errnoOf(p.error), reference() + ": "
                    + Nbd.commandName(p.cmd) + " failed on the server" + (p.message.isEmpty() ? "" : ": " + p.message)));
        }
    }

    /** Makes at least {@code n} bytes readable in {@link #in}. */
    private void ensure(int n) throws IOException {
        while (in.remaining() < n) {
            in.compact();
            int r = transport.read(in);
            in.flip();
            if (r < 0) throw new EOFException("end of stream");
            if (r == 0) waitIo(Transport.READABLE);
        }
    }

    /** Fills {@code dst} from what is buffered, then straight from the socket. */
    private void readInto(ByteBuffer dst) throws IOException {
        int buffered = Math.min(in.remaining(), dst.remaining());
        if (buffered > 0) {
            dst.put(in.duplicate().limit(in.position() + buffered));
            in.position(in.position() + buffered);
        }
        while (dst.hasRemaining()) {
            int r = transport.read(dst);
            if (r < 0) throw new EOFException("end of stream");
            if (r == 0) waitIo(Transport.READABLE);
        }
    }

    private void skip(long n) throws IOException {
        long left = n;
        while (left > 0) {
            if (!in.hasRemaining()) ensure(1);
            int step = (int) Math.min(left, in.remaining());
            in.position(in.position() + step);
            left -= step;
        }
    }

    private void waitIo(int interest) throws IOException {
        if (out.wantsWritable()) interest |= Transport.WRITABLE;
        int ready = transport.await(interest, -1);
        if ((ready & Transport.WRITABLE) != 0) out.onWritable();
        if (!transport.isOpen()) {
            IOException f = out.failure();
            throw f != null ? f : new EOFException(failure != null ? failure : "closed");
        }
    }
}
