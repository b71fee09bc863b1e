package org.ddmapper.runtime;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;

/**
 * With {@code -Dddmapper.boot.trace=true} (e.g. in DDMAPPER_JAVA_OPTS), one stderr line per boot step,
 * {@code ddmapper: boot: STEP at N ms}, counted from the process's start (the exec of the JVM), so that
 * the time to the ready line can be taken apart; otherwise nothing.
 */
final class BootTrace {
    static final String PROPERTY = "ddmapper.boot.trace";

    private final PrintStream err;
    private final Instant start;

    private BootTrace(PrintStream err, Instant start) {
        this.err = err;
        this.start = start;
    }

    static BootTrace of(PrintStream err) {
        if (!Boolean.getBoolean(PROPERTY)) {
            return new BootTrace(null, null);
        }
        return new BootTrace(err, ProcessHandle.current().info().startInstant().orElse(Instant.now()));
    }

    void step(String what) {
        if (err != null) {
            err.println("ddmapper: boot: " + what + " at " + Duration.between(start, Instant.now()).toMillis() + " ms");
        }
    }
}
