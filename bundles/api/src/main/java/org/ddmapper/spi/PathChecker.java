package org.ddmapper.spi;

import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.BlockDevice;

/** A path checker (multipath-tools' checkers), registered as an OSGi service. */
public interface PathChecker {

    /** The name multipath.conf uses for it: directio, readsector0, tur, nbd. */
    String name();

    /**
     * Checks one path without blocking the caller. The future completes with TIMEOUT (never
     * later) when the check takes longer than {@code timeoutMillis}.
     */
    CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis);
}
