package org.ddmapper.nbd.internal;

import java.util.function.Function;
import org.tinylog.Logger;

/**
 * The limits that stop abusive clients without bothering real ones.
 *
 * @param handshakeMillis        time from accept until the client must be in transmission
 * @param maxOptions             options one handshake may send
 * @param maxOptionBytes         largest option payload read and parsed
 * @param maxSkippedOptionBytes  largest option payload skipped with NBD_REP_ERR_TOO_BIG; above it the connection is dropped unread
 * @param maxConnections         open connections per server
 * @param maxConnectionsPerPeer  open TCP connections from one client address (Unix socket peers are not counted)
 * @param maxHandshakes          connections still negotiating; a new one evicts the oldest
 * @param maxPayloadBytes        largest READ/WRITE/CACHE/WRITE_ZEROES length (the advertised maximum block size)
 * @param maxInFlightBytes       data bytes one connection may hold in requests and unsent replies before it stops reading
 * @param maxInFlightRequests    requests one connection may have in flight before it stops reading
 * @param memoryBytes            data bytes all connections together may hold (the {@link MemoryBudget}); a
 *                               connection over it waits
 * @param payloadMillis          time a WRITE's payload has to arrive once the server starts reading it; and
 *                               how long a client may leave replies unread while other connections wait for memory
 * @param goneLingerMillis       how long a connection to a removed device waits for the client's next request before closing
 * @param shutdownGraceMillis    how long a closing connection (server stopping, device removed) lets in-flight requests
 *                               finish before it answers them ESHUTDOWN
 */
public record ServerLimits(long handshakeMillis, int maxOptions, int maxOptionBytes, int maxSkippedOptionBytes,
                           int maxConnections, int maxConnectionsPerPeer, int maxHandshakes, int maxPayloadBytes,
                           long maxInFlightBytes, int maxInFlightRequests, long memoryBytes, long payloadMillis,
                           long goneLingerMillis, long shutdownGraceMillis) {

    public static final ServerLimits DEFAULTS = new ServerLimits(10_000, 32, 64 * 1024, 1 << 20,
            1024, 256, 128, Nbd.MAX_PAYLOAD_BYTES, 64L << 20, 1024, 64L << 20, 30_000, 10_000, 5_000);

    /** Framework properties that override a default. */
    public static final String CONNECTIONS_PROPERTY = "ddmapper.nbd.connections";
    public static final String CONNECTIONS_PER_PEER_PROPERTY = "ddmapper.nbd.connections.per.peer";
    public static final String MEMORY_PROPERTY = "ddmapper.nbd.memory.bytes";
    public static final String PAYLOAD_MILLIS_PROPERTY = "ddmapper.nbd.payload.timeout.ms";
    public static final String STOP_GRACE_PROPERTY = "ddmapper.nbd.stop.grace.ms";

    /** The defaults with whatever of the properties above {@code property} has; a bad value is logged and ignored. */
    public static ServerLimits fromProperties(Function<String, String> property) {
        ServerLimits l = DEFAULTS;
        int connections = (int) positive(property, CONNECTIONS_PROPERTY, l.maxConnections, Integer.MAX_VALUE);
        int perPeer = (int) positive(property, CONNECTIONS_PER_PEER_PROPERTY, l.maxConnectionsPerPeer, Integer.MAX_VALUE);
        long memory = positive(property, MEMORY_PROPERTY, l.memoryBytes, Long.MAX_VALUE);
        long payload = positive(property, PAYLOAD_MILLIS_PROPERTY, l.payloadMillis, Long.MAX_VALUE);
        long grace = positive(property, STOP_GRACE_PROPERTY, l.shutdownGraceMillis, 600_000);
        return l.withConnections(connections, l.maxHandshakes).withConnectionsPerPeer(perPeer)
                .withMemoryBytes(memory).withPayloadMillis(payload).withShutdownGraceMillis(grace);
    }

    private static long positive(Function<String, String> property, String key, long fallback, long max) {
        String value = property.apply(key);
        if (value == null || value.isBlank()) return fallback;
        try {
            long v = Long.parseLong(value.trim());
            if (v > 0 && v <= max) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        Logger.warn("nbd: {}: expected a positive number, got '{}'; using {}", key, value, fallback);
        return fallback;
    }

    public ServerLimits withHandshakeMillis(long millis) {
        return new ServerLimits(millis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, payloadMillis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withConnections(int connections, int handshakes) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, connections,
                maxConnectionsPerPeer, handshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, payloadMillis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withConnectionsPerPeer(int connections) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                connections, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, payloadMillis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withInFlight(long bytes, int requests) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, bytes, requests,
                memoryBytes, payloadMillis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withMemoryBytes(long bytes) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                bytes, payloadMillis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withPayloadMillis(long millis) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, millis, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withGoneLingerMillis(long millis) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, payloadMillis, millis, shutdownGraceMillis);
    }

    public ServerLimits withShutdownGraceMillis(long millis) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxConnectionsPerPeer, maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests,
                memoryBytes, payloadMillis, goneLingerMillis, millis);
    }
}
