package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.ddmapper.api.DeviceManager;
import org.tinylog.Logger;

/** One client connection of the server, on its own thread: the handshake, then transmission. */
final class ServerConnection implements Runnable {

    /**
     * What the server gives every connection: its limits, exports, buffers and memory budget, the
     * device manager, the BLOCK_STATUS pool, and whom to tell when a connection has ended.
     */
    record Context(ServerLimits limits, Exports exports, BufferPool pool, MemoryBudget budget, DeviceManager devices,
                   Executor queries, Consumer<ServerConnection> ended, ServerTls tls, ExportAccess access) {
    }

    private final Context server;
    private final Transport transport;
    private final long acceptedNanos;
    private final InetAddress peerAddress;
    private volatile boolean negotiating = true;
    private volatile Transmission transmission;
    private volatile String closeReason;

    ServerConnection(Context server, Transport transport, InetAddress peerAddress) {
        this.server = server;
        this.transport = transport;
        this.peerAddress = peerAddress;
        this.acceptedNanos = System.nanoTime();
    }

    @Override
    public void run() {
        Session session = null;
        try {
            long deadline = acceptedNanos + server.limits().handshakeMillis() * 1_000_000;
            Handshake handshake = new Handshake(transport, server.exports(), server.limits(), deadline, server.tls(),
                    server.access(), peerAddress);
            session = handshake.run();
            negotiating = false;
            if (session == null) return;
            Logger.debug("nbd: {}: serving export {}", transport.peer(), session.name());
            Transmission t = new Transmission(handshake.transport(), session, server.limits(), server.pool(), server.budget(),
                    server.devices(), server.queries());
            transmission = t;
            if (closeReason != null) t.stop();
            t.run();
        } catch (ProtocolException | RequestInput.StalledClientException e) {
            Logger.info("nbd: {}: {}; dropping the connection", transport.peer(), e.getMessage());
        } catch (Transport.DeadlineException e) {
            Logger.info("nbd: {}: handshake not finished within {} ms; dropping the connection",
                    transport.peer(), server.limits().handshakeMillis());
        } catch (javax.net.ssl.SSLException e) {
            Logger.info("nbd: {}: TLS: {}; dropping the connection", transport.peer(), e.getMessage());
        } catch (EOFException | ClosedChannelException e) {
            if (closeReason != null) Logger.info("nbd: {}: {}", transport.peer(), closeReason);
            else Logger.debug("nbd: {}: {}", transport.peer(), e.getMessage());
        } catch (IOException e) {
            Logger.debug("nbd: {}: connection ended: {}", transport.peer(), e.getMessage());
        } catch (RuntimeException | Error e) {
            Logger.error(e, "nbd: {}: connection failed", transport.peer());
        } finally {
            negotiating = false;
            transport.release();
            if (session != null && transmission == null) session.close();
            server.ended().accept(this);
        }
    }

    /** Whether the connection still negotiates and has not been told to close. */
    boolean negotiating() {
        return negotiating && closeReason == null;
    }

    /** The client's IP address; null for a Unix socket. */
    InetAddress peerAddress() {
        return peerAddress;
    }

    long acceptedNanos() {
        return acceptedNanos;
    }

    /** The transmission phase, once there (null before and for connections that never get there). */
    Transmission transmission() {
        return transmission;
    }

    /** Drops a connection still negotiating (its slot is wanted), or stops a serving one gracefully. */
    void shutdown(String reason) {
        closeReason = reason;
        Transmission t = transmission;
        if (t != null) {
            t.stop();
        } else {
            transport.close();
        }
    }
}
