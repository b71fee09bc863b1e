package org.ddmapper.spi.testkit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.ddmapper.api.IoStatus;

/** A request's completion a test can wait for (bounded) and look at. */
public final class Completion implements Consumer<IoStatus> {
    private final CompletableFuture<IoStatus> status = new CompletableFuture<>();
    private volatile long completedNanos;
    private volatile int calls;

    @Override
    public void accept(IoStatus s) {
        calls++;
        completedNanos = System.nanoTime();
        status.complete(s);
    }

    /** Waits up to 5 seconds for the outcome. */
    public IoStatus get() {
        try {
            return status.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request did not complete within 5 s", e);
        }
    }

    public boolean isDone() { return status.isDone(); }

    /** How often the completion ran (must be exactly once). */
    public int calls() { return calls; }

    /** System.nanoTime() when it completed. */
    public long completedNanos() { return completedNanos; }
}
