package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.DeviceManager;
import org.tinylog.Logger;

/**
 * The NBD server: listeners (TCP and Unix sockets) that accept connections and run each on its
 * own thread. Knows nothing of OSGi; the component wires it to the device manager.
 *
 * <p>Connection limits: at most {@code maxConnections} connections, and at most {@code
 * maxConnectionsPerPeer} from one TCP client address, so one host cannot take every slot with
 * sessions it leaves idle; a connection over either limit is told why (an option error) and
 * closed. At most {@code maxHandshakes} of them still negotiating — a new connection evicts the
 * one that has been negotiating longest, so a flood of sockets that never speak cannot lock real
 * clients out.
 */
public final class NbdServer implements AutoCloseable {
    private static final long THREAD_STACK_BYTES = 256 * 1024;
    private static final int MAX_REFUSALS = 8;
    private static final long REFUSAL_MILLIS = 2_000;
    private static final long REFUSAL_LOG_MILLIS = 10_000;
    /** Threads answering BLOCK_STATUS queries (they may make system calls, so not on a connection's reader thread). */
    private static final int QUERY_THREADS = 4;

    private final Exports exports;
    private final ServerLimits limits;
    private final MemoryBudget budget;
    private final ExecutorService queries;
    private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicInteger refusing = new AtomicInteger();
    private final AtomicLong lastRefusalLogNanos = new AtomicLong();
    private final AtomicInteger unloggedRefusals = new AtomicInteger();
    private volatile boolean closed;
    /** What every connection gets from the server. */
    private final ServerConnection.Context context;

    public NbdServer(DeviceManager devices, ServerLimits limits, BufferPool pool) {
        this(devices, limits, pool, ServerTls.OFF);
    }

    /** A server offering TLS as {@code tls} says. */
    public NbdServer(DeviceManager devices, ServerLimits limits, BufferPool pool, ServerTls tls) {
        this(devices, limits, pool, tls, ExportAccess.OPEN);
    }

    /** A server offering TLS as {@code tls} says, its exports allowed to clients as {@code access} says. */
    public NbdServer(DeviceManager devices, ServerLimits limits, BufferPool pool, ServerTls tls, ExportAccess access) {
        this.exports = new Exports(devices);
        this.limits = limits;
        this.budget = new MemoryBudget(limits.memoryBytes());
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor queryPool = new ThreadPoolExecutor(QUERY_THREADS, QUERY_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(null, r, "nbd-block-status-" + n.incrementAndGet(), THREAD_STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
        queryPool.allowCoreThreadTimeOut(true);
        // Unbounded queue: each connection's in-flight request limit bounds what it can queue.
        this.queries = queryPool;
        this.context = new ServerConnection.Context(limits, exports, pool, budget, devices, queries, connections::remove, tls, access);
    }

    /** Listens on a TCP address; the listener's {@link Listener#address()} has the real port. */
    public Listener listenTcp(String host, int port) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.bind(new InetSocketAddress(host, port), 256);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        InetSocketAddress bound = (InetSocketAddress) ch.getLocalAddress();
        String hostText = bound.getAddress().getHostAddress();
        if (hostText.indexOf(':') >= 0) hostText = "[" + hostText + "]";
        return start(ch, hostText + ":" + bound.getPort(), null);
    }

    /**
     * Listens on a Unix socket. A leftover socket file nobody listens on is replaced; one a
     * live server answers on is not ("address already in use").
     */
    public Listener listenUnix(Path path) throws IOException {
        if (Files.exists(path)) {
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                throw new java.net.BindException("Address already in use");
            } catch (java.net.BindException e) {
                throw e;
            } catch (IOException stale) {
                Files.deleteIfExists(path);
            }
        }
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path), 256);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return start(ch, path.toString(), path);
    }

    private Listener start(ServerSocketChannel ch, String address, Path socketFile) {
        Listener l = new Listener(ch, address, socketFile);
        listeners.add(l);
        Thread t = new Thread(l::acceptLoop, "nbd-listen " + address);
        t.setDaemon(true);
        t.start();
        Logger.info("nbd: listening on {}", address);
        return l;
    }

    public ServerLimits limits() {
        return limits;
    }

    /** The data bytes all connections may hold together. */
    public MemoryBudget budget() {
        return budget;
    }

    /** Open connections, negotiating or serving. */
    public int connectionCount() {
        return connections.size();
    }

    /** The largest number of data bytes any serving connection held at once. */
    public long maxInFlightBytesSeen() {
        long max = 0;
        for (ServerConnection c : connections) {
            Transmission t = c.transmission();
            if (t != null) max = Math.max(max, t.maxInFlightBytesSeen());
        }
        return max;
    }

    /**
     * Stops listening and closes every connection gracefully (see {@link Transmission}: requests in
     * flight get the grace period, everything else is answered ESHUTDOWN), and waits for them.
     */
    @Override
    public void close() {
        if (!closed) {
            Logger.info("nbd: stopping: {} connections get up to {} ms to finish the requests in flight",
                    connections.size(), limits.shutdownGraceMillis());
        }
        closed = true;
        for (Listener l : listeners) l.close();
        for (ServerConnection c : connections) c.shutdown("server stopping");
        long deadline = System.nanoTime() + (limits.shutdownGraceMillis() + 2_000) * 1_000_000;
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        queries.shutdown();
    }

    private void accepted(SocketChannel ch) {
        if (closed) {
            closeQuietly(ch);
            return;
        }
        InetAddress peer = null;
        try {
            if (ch.getRemoteAddress() instanceof InetSocketAddress a) peer = a.getAddress();
        } catch (IOException e) {
            // counted as no address
        }
        String refusal = null;
        if (connections.size() >= limits.maxConnections()) {
            refusal = "the server has " + connections.size() + " connections open, its limit; try again later";
        } else if (peer != null && connectionsFrom(peer) >= limits.maxConnectionsPerPeer()) {
            refusal = "this client address (" + peer.getHostAddress() + ") has " + limits.maxConnectionsPerPeer()
                    + " connections open, the limit for one address; try again later";
        }
        Transport transport;
        try {
            transport = new NioTransport(ch);
        } catch (IOException e) {
            Logger.debug("nbd: cannot set up a connection: {}", e.getMessage());
            closeQuietly(ch);
            return;
        }
        if (refusal != null) {
            refuse(transport, refusal);
            return;
        }
        evictOldestNegotiatingIfFull();
        ServerConnection c = new ServerConnection(context, transport, peer);
        connections.add(c);
        if (!startThread(c, "nbd " + transport.peer())) {
            connections.remove(c); // its slot is not kept by a connection that never ran
            transport.release();
        }
    }

    /** Starts a daemon thread with the server's stack size; false (logged) when the JVM cannot make one. */
    private static boolean startThread(Runnable r, String name) {
        try {
            Thread t = new Thread(null, r, name, THREAD_STACK_BYTES);
            t.setDaemon(true);
            t.start();
            return true;
        } catch (OutOfMemoryError e) {
            Logger.warn("nbd: cannot start a thread for {}: {}", name, e.getMessage());
            return false;
        }
    }

    /** Logs a refusal at WARN, at most one line per {@value #REFUSAL_LOG_MILLIS} ms (with how many were not logged). */
    private void logRefusal(String peer, String reason) {
        long now = System.nanoTime();
        long last = lastRefusalLogNanos.get();
        if (last != 0 && now - last < REFUSAL_LOG_MILLIS * 1_000_000) {
            unloggedRefusals.incrementAndGet();
            return;
        }
        if (!lastRefusalLogNanos.compareAndSet(last, now)) {
            unloggedRefusals.incrementAndGet();
            return;
        }
        int more = unloggedRefusals.getAndSet(0);
        if (more == 0) Logger.warn("nbd: {}: refused: {}", peer, reason);
        else Logger.warn("nbd: {}: refused: {} ({} more connections refused since the last such line)", peer, reason, more);
    }

    private int connectionsFrom(InetAddress peer) {
        int n = 0;
        for (ServerConnection c : connections) if (peer.equals(c.peerAddress())) n++;
        return n;
    }

    /**
     * Tells a connection there is no room for it (the greeting, then an error with the reason
     * for its options) on a short-lived thread with a short deadline; when several refusals are
     * already under way the connection is just closed.
     */
    private void refuse(Transport transport, String reason) {
        logRefusal(transport.peer(), reason);
        if (refusing.incrementAndGet() > MAX_REFUSALS) {
            refusing.decrementAndGet();
            transport.release();
            return;
        }
        Runnable r = () -> {
            try {
                long deadline = System.nanoTime() + REFUSAL_MILLIS * 1_000_000;
                new Handshake(transport, exports, limits, deadline).refuse(reason);
            } catch (IOException | RuntimeException e) {
                Logger.debug("nbd: {}: refusal ended: {}", transport.peer(), e.getMessage());
            } finally {
                transport.release();
                refusing.decrementAndGet();
            }
        };
        if (!startThread(r, "nbd refuse " + transport.peer())) {
            transport.release();
            refusing.decrementAndGet();
        }
    }

    private void evictOldestNegotiatingIfFull() {
        List<ServerConnection> negotiating = new ArrayList<>();
        for (ServerConnection c : connections) if (c.negotiating()) negotiating.add(c);
        if (negotiating.size() < limits.maxHandshakes()) return;
        ServerConnection oldest = null;
        for (ServerConnection c : negotiating) {
            if (oldest == null || c.acceptedNanos() - oldest.acceptedNanos() < 0) oldest = c;
        }
        if (oldest != null) oldest.shutdown(limits.maxHandshakes() + " connections still negotiating; dropped the oldest");
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /** One listening socket and its accept thread. */
    public final class Listener implements AutoCloseable {
        private final ServerSocketChannel channel;
        private final String address;
        private final Path socketFile;

        Listener(ServerSocketChannel channel, String address, Path socketFile) {
            this.channel = channel;
            this.address = address;
            this.socketFile = socketFile;
        }

        /** HOST:PORT with the bound port, or the socket path. */
        public String address() {
            return address;
        }

        public SocketAddress localAddress() throws IOException {
            return channel.getLocalAddress();
        }

        private void acceptLoop() {
            while (channel.isOpen()) {
                try {
                    accepted(channel.accept());
                } catch (ClosedChannelException e) {
                    return;
                } catch (IOException e) {
                    Logger.warn("nbd: accept on {} failed: {}", address, e.getMessage());
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException ie) {
                        return;
                    }
                } catch (RuntimeException | Error e) {
                    Logger.error(e, "nbd: accept on {} failed", address);
                }
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            if (socketFile != null) {
                try {
                    Files.deleteIfExists(socketFile);
                } catch (IOException e) {
                    Logger.debug("nbd: cannot remove {}: {}", socketFile, e.getMessage());
                }
            }
            listeners.remove(this);
        }
    }
}
