package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.PassedFd;

/** Opens NBD client devices: by connecting to a reference's server, or over a socket passed to us. */
public final class NbdConnector {
    private final long timeoutMillis;
    /** Export sizes learned by handshakes, by base reference: what a socket passed after its handshake is taken to have. */
    private final java.util.Map<String, Long> knownSizes = new java.util.concurrent.ConcurrentHashMap<>();
    /** Transmission flags learned by handshakes, by base reference (the same server's export announces the same ones). */
    private final java.util.Map<String, Integer> knownFlags = new java.util.concurrent.ConcurrentHashMap<>();

    private final ClientTls tls;

    public NbdConnector(long timeoutMillis) {
        this(timeoutMillis, new ClientTls(null));
    }

    /** A connector whose {@code nbds} references take their certificates from {@code tls}. */
    public NbdConnector(long timeoutMillis, ClientTls tls) {
        this.timeoutMillis = timeoutMillis;
        this.tls = tls;
    }

    /** Connects, negotiates and starts a client for {@code reference}. */
    public NbdClientDevice open(String reference, boolean readOnly) {
        NbdUri uri = NbdUri.parse(reference);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        SocketChannel ch = connect(uri);
        Transport t;
        try {
            t = new NioTransport(ch);
        } catch (IOException e) {
            close(ch);
            throw new DmException(Errno.EIO, reference + ": " + e.getMessage(), e);
        }
        return negotiate(uri, t, readOnly, deadline);
    }

    /**
     * Runs a client over a socket descriptor someone passed with a message. Unless
     * {@code negotiated}, does the handshake. A negotiated socket's export size and transmission
     * flags come from {@code size=BYTES} and {@code flags=0xNNNN} in the reference, or else from
     * the last handshake with the same reference (transmission has no way to ask for them); with
     * neither it is refused, since the NBD protocol forbids commands the server did not announce.
     */
    public NbdClientDevice adopt(String reference, PassedFd socket, boolean negotiated) {
        NbdUri uri = NbdUri.parse(reference);
        String base = uri.baseReference();
        long size = uri.sizeBytes() >= 0 ? uri.sizeBytes() : knownSizes.getOrDefault(base, -1L);
        int flags = uri.flags() >= 0 ? uri.flags() : knownFlags.getOrDefault(base, -1);
        if (negotiated && uri.tls()) {
            socket.close();
            throw new DmException(Errno.EINVAL, reference + ": TLS cannot start on a socket passed after its handshake"
                    + " (STARTTLS is a handshake option): pass it before the handshake");
        }
        if (negotiated && size < 0) {
            socket.close();
            throw new DmException(Errno.EINVAL, reference + ": a socket passed after its handshake needs the export size:"
                    + " add ?size=BYTES (no earlier handshake with this reference told it)");
        }
        if (negotiated && flags < 0) {
            socket.close();
            throw new DmException(Errno.EINVAL, reference + ": a socket passed after its handshake needs the transmission"
                    + " flags the server sent: add flags=0xNNNN (no earlier handshake with this reference told them)");
        }
        if (negotiated && (flags & Nbd.FLAG_HAS_FLAGS) != 0 && (flags & Nbd.FLAG_READ_ONLY) != 0) {
            socket.close();
            throw new DmException(Errno.EROFS, uri.reference() + ": the export is read-only");
        }
        int fd = socket.fd();
        if (fd < 0) throw new DmException(Errno.EBADF, reference + ": the passed socket is already closed");
        Transport t;
        try {
            t = FdTransport.adopt(fd, "passed socket " + fd + " for " + uri.where());
        } catch (IOException e) {
            socket.close();
            throw new DmException(Errno.EINVAL, reference + ": " + e.getMessage(), e);
        } catch (LinkageError e) {
            socket.close();
            throw new DmException(Errno.EOPNOTSUPP, reference + ": passed sockets need JNA, which is not available: " + e);
        }
        socket.take();
        if (negotiated) {
            // without NBD_FLAG_HAS_FLAGS the other bits mean nothing: no optional command may be sent
            int announced = (flags & Nbd.FLAG_HAS_FLAGS) != 0 ? flags : 0;
            return NbdClientDevice.start(uri, t, new ClientHandshake.Result(size, announced, 0, 0, 0), false);
        }
        return negotiate(uri, t, false, System.nanoTime() + timeoutMillis * 1_000_000);
    }

    private NbdClientDevice negotiate(NbdUri uri, Transport t, boolean readOnly, long deadline) {
        try {
            ClientHandshake.Negotiated n = ClientHandshake.negotiate(t, uri, tls, deadline);
            ClientHandshake.Result r = n.result();
            t = n.transport();
            knownSizes.put(uri.baseReference(), r.sizeBytes());
            knownFlags.put(uri.baseReference(), r.flags());
            if (!readOnly && (r.flags() & Nbd.FLAG_READ_ONLY) != 0) {
                throw new DmException(Errno.EROFS, uri.reference() + ": the export is read-only");
            }
            return NbdClientDevice.start(uri, t, r, readOnly);
        } catch (Transport.DeadlineException e) {
            t.release();
            throw new DmException(Errno.ETIMEDOUT, uri.reference() + ": handshake not finished within " + timeoutMillis + " ms");
        } catch (IOException e) {
            t.release();
            throw new DmException(Errno.ECONNRESET, uri.reference() + ": handshake failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            t.release();
            throw e;
        }
    }

    private SocketChannel connect(NbdUri uri) {
        SocketChannel ch = null;
        try {
            if (uri.unix()) {
                ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(uri.socket()));
                return ch;
            }
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            if (!ch.connect(new InetSocketAddress(uri.host(), uri.port()))) {
                try (Selector s = Selector.open()) {
                    ch.register(s, SelectionKey.OP_CONNECT);
                    if (s.select(timeoutMillis) == 0) {
                        throw new DmException(Errno.ETIMEDOUT, uri.reference() + ": no connection to " + uri.where()
                                + " within " + timeoutMillis + " ms");
                    }
                }
                ch.finishConnect();
            }
            ch.configureBlocking(true);
            return ch;
        } catch (ConnectException e) {
            close(ch);
            throw new DmException(Errno.ECONNREFUSED, uri.reference() + ": connection to " + uri.where() + " refused");
        } catch (UnresolvedAddressException e) {
            close(ch);
            throw new DmException(Errno.ENXIO, uri.reference() + ": unknown host " + uri.host());
        } catch (IOException e) {
            close(ch);
            throw new DmException(Errno.ECONNREFUSED, uri.reference() + ": cannot connect to " + uri.where() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static void close(SocketChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
