package org.ddmapper.spi;

/**
 * A byte rate for background work (a copy's pieces, a mirror's resync): each piece of work asks
 * how long to wait before it starts, and the starts are spaced so that the bytes keep to the rate,
 * never bursting past it. Thread-safe; 0 bytes per second means no limit.
 *
 * @since 1.4
 */
public final class RateLimit {
    private long bytesPerSecond;
    private long nextStartNanos;

    /** No limit until {@link #set} says otherwise. */
    public RateLimit() {}

    /** Sets the rate ({@code 0}: no limit). */
    public synchronized void set(long bytesPerSecond) {
        if (bytesPerSecond < 0) throw new IllegalArgumentException("negative rate");
        this.bytesPerSecond = bytesPerSecond;
    }

    public synchronized long bytesPerSecond() { return bytesPerSecond; }

    /** Reserves a start for {@code bytes}: how long from now to wait, in nanoseconds (0: start now). */
    public synchronized long delayNanos(long bytes) {
        if (bytesPerSecond == 0) return 0;
        long now = System.nanoTime();
        long start = Math.max(now, nextStartNanos);
        nextStartNanos = start + bytes * 1_000_000_000L / bytesPerSecond;
        return start - now;
    }
}
