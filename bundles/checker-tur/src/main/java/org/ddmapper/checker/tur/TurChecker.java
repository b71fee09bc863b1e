package org.ddmapper.checker.tur;

import com.sun.jna.LastErrorException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathState;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code tur}: SCSI TEST UNIT READY through SG_IO, multipath-tools' default checker, with its
 * verdicts (reservation conflict is up, standby is ghost, ALUA transition is pending, LUN not
 * supported is disconnected, unit attention is retried up to five times). A path that is not a
 * SCSI device (a file, an nbd:// export, a node that answers SG_IO with ENOTTY or EINVAL) is
 * WILD: the checker does not apply, and the monitor leaves the path alone.
 */
@Component(service = PathChecker.class)
public class TurChecker implements PathChecker {
    private static final byte[] TEST_UNIT_READY = new byte[6];
    private static final int RETRIES = 5;
    private static final int MAX_WORKERS = 32;

    private final ExecutorService workers = new ThreadPoolExecutor(0, MAX_WORKERS, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "ddmapper-checker-tur");
                t.setDaemon(true);
                return t;
            });

    @Override public String name() { return "tur"; }

    @Override
    public CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis) {
        String reference = path.reference();
        if (!reference.startsWith("/"))
            return CompletableFuture.completedFuture(new CheckResult(PathState.WILD,
                    "tur applies to SCSI devices; '" + reference + "' is not one"));
        CompletableFuture<CheckResult> result = new CompletableFuture<>();
        try {
            workers.execute(() -> result.complete(testUnitReady(reference, timeoutMillis)));
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(new CheckResult(PathState.PENDING,
                    MAX_WORKERS + " SG_IO commands are still stuck; not starting another"));
        }
        return result.completeOnTimeout(new CheckResult(PathState.TIMEOUT,
                "test unit ready gave no answer within " + timeoutMillis + " ms"), timeoutMillis, TimeUnit.MILLISECONDS);
    }

    static CheckResult testUnitReady(String devicePath, long timeoutMillis) {
        for (int attempt = 0; attempt < RETRIES; attempt++) {
            SgIo.Result r;
            try {
                r = SgIo.send(devicePath, TEST_UNIT_READY, (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            } catch (LastErrorException e) {
                return new CheckResult(PathState.DOWN, "cannot open " + devicePath + ": errno " + e.getErrorCode());
            } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
                return new CheckResult(PathState.WILD, "SG_IO is not available here: " + e.getMessage());
            }
            if (r.errno() == SgIo.ENOTTY || r.errno() == SgIo.EINVAL)
                return new CheckResult(PathState.WILD, "tur applies to SCSI devices; '" + devicePath + "' is not one (SG_IO: errno "
                        + r.errno() + ")");
            if (r.errno() != 0) return new CheckResult(PathState.DOWN, "SG_IO failed: errno " + r.errno());
            boolean lastAttempt = attempt == RETRIES - 1;
            CheckResult verdict = ScsiSense.verdict(r, !lastAttempt);
            if (verdict != null)
                return lastAttempt ? new CheckResult(verdict.state(), verdict.message() + " (after " + RETRIES + " attempts)") : verdict;
        }
        throw new AssertionError("the last attempt always gives a verdict");
    }

    @Deactivate
    void deactivate() {
        workers.shutdownNow();
    }
}
