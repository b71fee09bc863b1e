package org.ddmapper.checker.readsector0;

import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathProbe;
import org.ddmapper.spi.PathState;
import org.osgi.service.component.annotations.Component;

/**
 * {@code readsector0}: reads the first 4 KiB of the path through its own transport (a file
 * handle, an NBD connection). Up when the read succeeds, down when it fails, timeout when
 * it takes longer than {@code checker_timeout}. Like multipath-tools' (deprecated) checker
 * of the same name, which does the read as a SCSI READ(10).
 */
@Component(service = PathChecker.class)
public class ReadSector0Checker implements PathChecker {
    static final int READ_BYTES = 4096;

    @Override public String name() { return "readsector0"; }

    @Override
    public CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis) {
        return PathProbe.readStart(path, READ_BYTES, timeoutMillis).thenApply(o -> {
            if (o.timedOut()) return new CheckResult(PathState.TIMEOUT, "read of sector 0 gave no answer within " + timeoutMillis + " ms");
            if (o.ok()) return new CheckResult(PathState.UP, "read of sector 0 took " + o.elapsedMicros() + " us");
            return new CheckResult(PathState.DOWN, "read of sector 0 failed: " + o.status());
        });
    }
}
