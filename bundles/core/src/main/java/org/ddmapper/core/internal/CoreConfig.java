package org.ddmapper.core.internal;

import java.nio.file.Path;

/**
 * The core's settings, from framework properties.
 *
 * @param home                  the home directory (state lives in {@code home/state}); never null
 * @param etc                   the configuration directory (boot tables in {@code etc/tables}), or null
 * @param ioThreads             threads of the file I/O pool
 * @param drainTimeoutMillis    how long a suspend waits for in-flight I/O
 * @param typeWaitMillis        how long a device waits for a missing target type before its I/O fails
 * @param persist               whether to read and write the state file
 */
public record CoreConfig(Path home, Path etc, int ioThreads, long drainTimeoutMillis, long typeWaitMillis, boolean persist) {

    public static final String HOME = "ddmapper.home";
    public static final String ETC = "ddmapper.etc";
    public static final String IO_THREADS = "ddmapper.io.threads";
    public static final String DRAIN_TIMEOUT = "ddmapper.core.drainTimeoutMillis";
    public static final String TYPE_WAIT = "ddmapper.core.typeWaitMillis";

    public static final int DEFAULT_IO_THREADS = 8;
    public static final long DEFAULT_DRAIN_TIMEOUT_MILLIS = 60_000;
    public static final long DEFAULT_TYPE_WAIT_MILLIS = 30_000;

    /** Settings for tests: the given home, no etc, persistence on. */
    public static CoreConfig forHome(Path home) {
        return new CoreConfig(home, null, 4, DEFAULT_DRAIN_TIMEOUT_MILLIS, DEFAULT_TYPE_WAIT_MILLIS, true);
    }

    public Path stateDir() { return home.resolve("state"); }

    public CoreConfig withEtc(Path etc) {
        return new CoreConfig(home, etc, ioThreads, drainTimeoutMillis, typeWaitMillis, persist);
    }

    public CoreConfig withTypeWaitMillis(long millis) {
        return new CoreConfig(home, etc, ioThreads, drainTimeoutMillis, millis, persist);
    }

    public CoreConfig withDrainTimeoutMillis(long millis) {
        return new CoreConfig(home, etc, ioThreads, millis, typeWaitMillis, persist);
    }
}
