package org.ddmapper.runtime;

/**
 * Why the launcher stops: one line for the operator (printed as {@code ddmapper: MESSAGE}) and the
 * exit status that goes with it. The statuses follow sysexits.h so that a service manager can tell
 * a mistake that a restart cannot fix ({@link #USAGE}, {@link #CONFIG}) from a failure that it may.
 */
final class LaunchFailure extends Exception {

    /** A failure at run time: a bundle that does not start, an endpoint that cannot listen. */
    static final int FAILED = 1;
    /** A bad command line (EX_USAGE). */
    static final int USAGE = 64;
    /** A bad configuration file (EX_CONFIG). */
    static final int CONFIG = 78;

    private final int exitStatus;

    private LaunchFailure(int exitStatus, String message) {
        super(message, null, false, false);
        this.exitStatus = exitStatus;
    }

    static LaunchFailure usage(String message) {
        return new LaunchFailure(USAGE, message);
    }

    static LaunchFailure config(String message) {
        return new LaunchFailure(CONFIG, message);
    }

    static LaunchFailure failed(String message) {
        return new LaunchFailure(FAILED, message);
    }

    int exitStatus() {
        return exitStatus;
    }
}
