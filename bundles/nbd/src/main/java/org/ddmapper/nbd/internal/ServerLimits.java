package org.ddmapper.nbd.internal;

/**
 * The limits that stop abusive clients without bothering real ones.
 *
 * @param handshakeMillis        time from accept until the client must be in transmission
 * @param maxOptions             options one handshake may send
 * @param maxOptionBytes         largest option payload read and parsed
 * @param maxSkippedOptionBytes  largest option payload skipped with NBD_REP_ERR_TOO_BIG; above it the connection is dropped unread
 * @param maxConnections         open connections per server
 * @param maxHandshakes          connections still negotiating; a new one evicts the oldest
 * @param maxPayloadBytes        largest READ/WRITE/CACHE/WRITE_ZEROES length (the advertised maximum block size)
 * @param maxInFlightBytes       data bytes one connection may hold in requests and unsent replies before it stops reading
 * @param maxInFlightRequests    requests one connection may have in flight before it stops reading
 * @param goneLingerMillis       how long a connection to a removed device waits for the client's next request before closing
 * @param shutdownGraceMillis    how long a stopping server lets in-flight requests finish
 */
public record ServerLimits(long handshakeMillis, int maxOptions, int maxOptionBytes, int maxSkippedOptionBytes,
                           int maxConnections, int maxHandshakes, int maxPayloadBytes, long maxInFlightBytes,
                           int maxInFlightRequests, long goneLingerMillis, long shutdownGraceMillis) {

    public static final ServerLimits DEFAULTS = new ServerLimits(10_000, 32, 64 * 1024, 1 << 20,
            1024, 128, Nbd.MAX_PAYLOAD_BYTES, 64L << 20, 1024, 10_000, 5_000);

    public ServerLimits withHandshakeMillis(long millis) {
        return new ServerLimits(millis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests, goneLingerMillis,
                shutdownGraceMillis);
    }

    public ServerLimits withConnections(int connections, int handshakes) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, connections,
                handshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests, goneLingerMillis,
                shutdownGraceMillis);
    }

    public ServerLimits withInFlight(long bytes, int requests) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxHandshakes, maxPayloadBytes, bytes, requests, goneLingerMillis, shutdownGraceMillis);
    }

    public ServerLimits withGoneLingerMillis(long millis) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests, millis, shutdownGraceMillis);
    }

    public ServerLimits withShutdownGraceMillis(long millis) {
        return new ServerLimits(handshakeMillis, maxOptions, maxOptionBytes, maxSkippedOptionBytes, maxConnections,
                maxHandshakes, maxPayloadBytes, maxInFlightBytes, maxInFlightRequests, goneLingerMillis, millis);
    }
}
