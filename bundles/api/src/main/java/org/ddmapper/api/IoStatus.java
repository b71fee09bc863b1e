package org.ddmapper.api;

/**
 * How a {@link Bio} ended: {@link #OK}, an error with its errno and a readable reason, or
 * {@link #REQUEUE} — the target hands the request back to the core to be submitted again
 * (against the next table when the device is being suspended with noflush).
 */
public record IoStatus(Outcome outcome, Errno errno, String message) {

    /** The three ways a request can end. */
    public enum Outcome { OK, ERROR, REQUEUE }

    public static final IoStatus OK = new IoStatus(Outcome.OK, null, null);
    public static final IoStatus REQUEUE = new IoStatus(Outcome.REQUEUE, null, "requeued");

    public IoStatus {
        if (outcome == null) throw new IllegalArgumentException("outcome");
        if (outcome == Outcome.ERROR && errno == null) throw new IllegalArgumentException("an error needs an errno");
    }

    public static IoStatus error(Errno errno, String message) {
        return new IoStatus(Outcome.ERROR, errno, message);
    }

    public boolean isOk() { return outcome == Outcome.OK; }

    public boolean isError() { return outcome == Outcome.ERROR; }

    public boolean isRequeue() { return outcome == Outcome.REQUEUE; }

    @Override
    public String toString() {
        return switch (outcome) {
            case OK -> "ok";
            case REQUEUE -> "requeue";
            case ERROR -> errno + (message == null ? "" : ": " + message);
        };
    }
}
