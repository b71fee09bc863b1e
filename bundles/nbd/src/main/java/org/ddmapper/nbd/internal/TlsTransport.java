package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * A {@link Transport} that runs TLS (the JDK's {@link SSLEngine}) over another, non-blocking one:
 * what NBD_OPT_STARTTLS switches a connection to, on the server and in the client.
 *
 * <p>Reads happen on the owner thread: ciphertext is read into {@code netIn} and unwrapped
 * straight into the caller's buffer when it has room for a whole record (payloads), else into
 * {@code appIn}. Writes (any thread, one at a time, under {@code writeLock}) wrap records into
 * {@code netOut} and send what the socket takes; plaintext counts as written once it is wrapped,
 * so ciphertext the socket did not take stays pending: the writer wakes the owner, whose
 * {@link #await} then also waits for writability and sends the rest. {@link #writeCorked} wraps
 * without sending, so a reply's header goes out with its payload. TLS 1.3 and 1.2 only; a
 * renegotiation (1.2) is refused by closing the connection. Corked MSG_MORE sends do not apply.
 */
public final class TlsTransport implements Transport {
    private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};
    /** Records wrapped before they are sent: 4 (about 66 KiB) keeps a 1 MiB reply at 16 sends. */
    private static final int NET_OUT_RECORDS = 4;
    /** Records read at once: 2 (about 33 KiB). */
    private static final int NET_IN_RECORDS = 2;

    private final Transport inner;
    private final SSLEngine engine;
    private final int packetBytes;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Ciphertext read and not yet unwrapped, in read mode. Owner thread. */
    private ByteBuffer netIn;
    /** Plaintext unwrapped and not yet taken, in read mode. Owner thread. */
    private ByteBuffer appIn;
    /** Whether what {@code netIn} holds is less than a record (more must be read first). */
    private boolean starved = true;
    private boolean inputClosed;
    /** Ciphertext to send, in write mode (position = pending bytes). Guarded by writeLock. */
    private final ByteBuffer netOut;
    private volatile boolean pendingOut;
    private boolean handshakeDone;

    public TlsTransport(Transport inner, SSLEngine engine) {
        this.inner = inner;
        this.engine = engine;
        SSLSession s = engine.getSession();
        this.packetBytes = s.getPacketBufferSize();
        this.netIn = ByteBuffer.allocateDirect(NET_IN_RECORDS * packetBytes).flip();
        this.appIn = ByteBuffer.allocate(s.getApplicationBufferSize()).flip();
        this.netOut = ByteBuffer.allocateDirect(NET_OUT_RECORDS * packetBytes);
    }

    /** The TLS session, for the peer's certificate and the protocol agreed. */
    public SSLSession session() {
        return engine.getSession();
    }

    /** The subject of the certificate the peer presented and the engine verified, or null. */
    public javax.security.auth.x500.X500Principal peerSubject() {
        try {
            return engine.getSession().getPeerCertificates()[0] instanceof java.security.cert.X509Certificate c
                    ? c.getSubjectX500Principal() : null;
        } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
            return null;
        }
    }

    /**
     * Runs the TLS handshake to its end on the owner thread, by {@code deadlineNanos}. A peer
     * that stalls, hangs up or sends something that is not TLS ends it with an exception; the
     * engine's alert, if any, is sent first (best effort).
     */
    public void handshake(long deadlineNanos) throws IOException {
        engine.beginHandshake();
        try {
            for (;;) {
                HandshakeStatus hs = engine.getHandshakeStatus();
                switch (hs) {
                    case NEED_TASK -> runTasks();
                    case NEED_WRAP -> wrapHandshake(deadlineNanos);
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> unwrapHandshake(deadlineNanos);
                    default -> {
                        flushFully(deadlineNanos);
                        handshakeDone = true;
                        return;
                    }
                }
            }
        } catch (SSLException e) {
            sendAlert();
            throw e;
        }
    }

    private void wrapHandshake(long deadlineNanos) throws IOException {
        writeLock.lock();
        try {
            if (netOut.remaining() < packetBytes) flushLocked();
            if (netOut.remaining() < packetBytes) {
                writeLock.unlock();
                try {
                    inner.awaitUntil(WRITABLE, deadlineNanos);
                } finally {
                    writeLock.lock();
                }
                return;
            }
            SSLEngineResult r = engine.wrap(NOTHING, 0, 1, netOut);
            if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                flushLocked();
                throw new SSLException("the TLS engine closed during the handshake");
            }
        } finally {
            writeLock.unlock();
        }
        // Send each flight as it is made: the peer may be waiting for it.
        if (engine.getHandshakeStatus() != HandshakeStatus.NEED_WRAP) flushFully(deadlineNanos);
    }

    private void unwrapHandshake(long deadlineNanos) throws IOException {
        if (!starved && netIn.hasRemaining()) {
            appIn.compact();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } finally {
                appIn.flip();
            }
            switch (r.getStatus()) {
                case BUFFER_UNDERFLOW -> starved = true;
                case BUFFER_OVERFLOW -> throw new SSLException("a TLS record larger than the session allows");
                case CLOSED -> throw new EOFException("the peer closed TLS during the handshake");
                default -> {
                    // progress
                }
            }
            return;
        }
        if (netIn.hasRemaining() && netIn.position() == 0 && netIn.limit() == netIn.capacity())
            throw new SSLException("a TLS record larger than " + netIn.capacity() + " bytes");
        if (fillNetIn() == 0) inner.awaitUntil(READABLE, deadlineNanos);
    }

    /** Reads ciphertext; -1 is an EOFException here (mid-handshake). */
    private int fillNetIn() throws IOException {
        netIn.compact();
        int n;
        try {
            n = inner.read(netIn);
        } finally {
            netIn.flip();
        }
        if (n < 0) throw new EOFException("connection closed by " + inner.peer() + " during the TLS handshake");
        if (n > 0) starved = false;
        return n;
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) task.run();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        for (;;) {
            if (appIn.hasRemaining()) return take(dst);
            if (inputClosed) return -1;
            if (!starved && netIn.hasRemaining()) {
                boolean direct = dst.remaining() >= appIn.capacity();
                ByteBuffer target = direct ? dst : appIn.clear();
                SSLEngineResult r;
                try {
                    r = engine.unwrap(netIn, target);
                } finally {
                    if (!direct) appIn.flip();
                }
                if (r.getStatus() != SSLEngineResult.Status.CLOSED) afterUnwrap(r.getHandshakeStatus());
                switch (r.getStatus()) {
                    case OK -> {
                        if (direct && r.bytesProduced() > 0) return r.bytesProduced();
                    }
                    case BUFFER_UNDERFLOW -> starved = true;
                    case BUFFER_OVERFLOW -> {
                        // a record larger than the buffer: unwrap into a larger one (then copied out)
                        if (appIn.capacity() >= 1 << 20) throw new SSLException("a TLS record does not fit in 1 MiB");
                        appIn = ByteBuffer.allocate(appIn.capacity() * 2).flip();
                    }
                    case CLOSED -> {
                        inputClosed = true;
                        if (direct && r.bytesProduced() > 0) return r.bytesProduced();
                    }
                }
                continue;
            }
            netIn.compact();
            int n;
            try {
                n = inner.read(netIn);
            } finally {
                netIn.flip();
            }
            if (n < 0) {
                inputClosed = true;
                return -1;
            }
            if (n == 0) return 0;
            starved = false;
        }
    }

    private int take(ByteBuffer dst) {
        int n = Math.min(dst.remaining(), appIn.remaining());
        ByteBuffer slice = appIn.slice(appIn.position(), n);
        dst.put(slice);
        appIn.position(appIn.position() + n);
        return n;
    }

    /** After the handshake: a TLS 1.3 key update is answered; a renegotiation is refused. */
    private void afterUnwrap(HandshakeStatus hs) throws IOException {
        if (hs == HandshakeStatus.NOT_HANDSHAKING || hs == HandshakeStatus.FINISHED) return;
        if (!"TLSv1.3".equals(engine.getSession().getProtocol())) {
            throw new SSLException("the peer started a TLS renegotiation, which this side refuses");
        }
        for (int i = 0; i < 8; i++) {
            hs = engine.getHandshakeStatus();
            if (hs == HandshakeStatus.NEED_TASK) {
                runTasks();
            } else if (hs == HandshakeStatus.NEED_WRAP) {
                writeLock.lock();
                try {
                    if (netOut.remaining() < packetBytes) flushLocked();
                    if (netOut.remaining() < packetBytes) return; // the next write or await sends it
                    engine.wrap(NOTHING, 0, 1, netOut);
                    flushLocked();
                } finally {
                    writeLock.unlock();
                }
            } else {
                return;
            }
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return write(srcs, offset, length, true);
    }

    @Override
    public long writeCorked(ByteBuffer src) throws IOException {
        return write(new ByteBuffer[] {src}, 0, 1, false);
    }

    private long write(ByteBuffer[] srcs, int offset, int length, boolean send) throws IOException {
        long consumed = 0;
        writeLock.lock();
        try {
            if (!inner.isOpen()) throw new ClosedChannelException();
            while (remaining(srcs, offset, length) > 0) {
                if (netOut.remaining() < packetBytes) {
                    flushLocked();
                    if (netOut.remaining() < packetBytes) break;
                }
                SSLEngineResult r = engine.wrap(srcs, offset, length, netOut);
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) throw new ClosedChannelException();
                if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) runTasks();
                consumed += r.bytesConsumed();
                if (r.bytesConsumed() == 0 && r.bytesProduced() == 0) break;
            }
            if (send || netOut.remaining() < packetBytes) flushLocked();
        } finally {
            writeLock.unlock();
        }
        if (pendingOut) inner.wakeup();
        return consumed;
    }

    private static long remaining(ByteBuffer[] srcs, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) n += srcs[i].remaining();
        return n;
    }

    /** Sends what the socket takes of the pending ciphertext. Holds writeLock. */
    private void flushLocked() throws IOException {
        if (netOut.position() > 0) {
            netOut.flip();
            try {
                inner.write(new ByteBuffer[] {netOut}, 0, 1);
            } finally {
                netOut.compact();
            }
        }
        pendingOut = netOut.position() > 0;
    }

    private void flushFully(long deadlineNanos) throws IOException {
        for (;;) {
            writeLock.lock();
            try {
                flushLocked();
                if (!pendingOut) return;
            } finally {
                writeLock.unlock();
            }
            inner.awaitUntil(WRITABLE, deadlineNanos);
        }
    }

    /** Whether plaintext, or a whole record, is already here to read. */
    private boolean readableNow() {
        return appIn.hasRemaining() || (!starved && netIn.hasRemaining()) || inputClosed;
    }

    @Override
    public int await(int interest, long timeoutMillis) throws IOException {
        if ((interest & READABLE) != 0 && readableNow()) return READABLE;
        boolean flush = pendingOut;
        int ready = inner.await(flush ? interest | WRITABLE : interest, timeoutMillis);
        if (flush && (ready & WRITABLE) != 0 && writeLock.tryLock()) {
            try {
                flushLocked();
            } finally {
                writeLock.unlock();
            }
        }
        return ready & interest;
    }

    @Override
    public boolean peerClosed() {
        return inner.peerClosed();
    }

    @Override
    public void wakeup() {
        inner.wakeup();
    }

    /** Sends close_notify when it can at once (never waits), then closes the connection. */
    @Override
    public void close() {
        if (handshakeDone && inner.isOpen() && writeLock.tryLock()) {
            try {
                engine.closeOutbound();
                if (netOut.remaining() >= packetBytes) engine.wrap(NOTHING, 0, 1, netOut);
                flushLocked();
            } catch (IOException | RuntimeException ignored) {
                // closing anyway
            } finally {
                writeLock.unlock();
            }
        }
        inner.close();
    }

    /** The engine's alert after a failed handshake, sent if the socket takes it now. */
    private void sendAlert() {
        if (!writeLock.tryLock()) return;
        try {
            for (int i = 0; i < 4 && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP
                    && netOut.remaining() >= packetBytes; i++) {
                engine.wrap(NOTHING, 0, 1, netOut);
            }
            flushLocked();
        } catch (IOException | RuntimeException ignored) {
            // the connection is being dropped anyway
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void release() {
        inner.release();
    }

    @Override
    public boolean isOpen() {
        return inner.isOpen();
    }

    @Override
    public String peer() {
        return inner.peer();
    }
}
