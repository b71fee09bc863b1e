package org.ddmapper.it.support;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.ddmapper.api.DeviceManager;

/** Bounded waits for observable state, in place of fixed sleeps. */
public final class Waits {
    /** How long {@link #await(String, BooleanSupplier)} waits. */
    public static final Duration DEFAULT = Duration.ofSeconds(15);

    private Waits() { }

    /** Polls {@code condition} every 10 ms until it holds; fails naming {@code what} after 15 s. */
    public static void await(String what, BooleanSupplier condition) {
        await(what, DEFAULT, condition);
    }

    public static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) fail("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            sleep(10);
        }
    }

    /** Waits until the named target types are registered (their bundles start after the core). */
    public static void awaitTypes(DeviceManager dm, String... names) {
        await("target types " + String.join(", ", names), () ->
                List.of(names).stream().allMatch(n -> dm.targets().stream().anyMatch(t -> t.name().equals(n))));
    }

    /** Sleeps; an interrupt fails the test. */
    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
