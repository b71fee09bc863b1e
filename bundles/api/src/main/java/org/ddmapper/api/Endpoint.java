package org.ddmapper.api;

/**
 * A listening endpoint of the appliance (the NBD server, the control socket), registered as a
 * service once it listens — or once it failed to, with {@link #failure()} saying why. The
 * launcher waits for these to print its ready line.
 */
public interface Endpoint {

    /** "nbd", "nbd-unix" or "control". */
    String kind();

    /** Where it listens: HOST:PORT or a socket path. */
    String address();

    /** Why it could not listen (e.g. "127.0.0.1:10809: address already in use"), or null when listening. */
    default String failure() { return null; }
}
