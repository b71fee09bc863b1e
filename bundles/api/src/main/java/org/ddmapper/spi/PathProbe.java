package org.ddmapper.spi;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * What most path checkers do: read a block at the start of a path through the path's own
 * transport, never waiting past a timeout. The read uses a private buffer, so a reply that
 * arrives after the timeout harms nothing.
 */
public final class PathProbe {

    /** How a probe ended: the read's status (null when it timed out) and how long it took. */
    public record Outcome(IoStatus status, boolean timedOut, long elapsedMicros) {
        public boolean ok() { return status != null && status.isOk(); }
    }

    private PathProbe() {}

    /**
     * Reads up to {@code maxBytes} (rounded to the device's logical block, at least one block)
     * at sector 0 of {@code path}; completes when the read does or after {@code timeoutMillis}.
     */
    public static CompletableFuture<Outcome> readStart(BlockDevice path, int maxBytes, long timeoutMillis) {
        int block = Math.max(Bio.SECTOR_BYTES, path.logicalBlockBytes());
        long sizeBytes = path.sizeSectors() * Bio.SECTOR_BYTES;
        int bytes = (int) Math.max(block, Math.min(maxBytes, sizeBytes) / block * block);
        long start = System.nanoTime();
        CompletableFuture<Outcome> result = new CompletableFuture<>();
        try {
            path.submit(Bio.read(0, ByteBuffer.allocate(bytes),
                    status -> result.complete(new Outcome(status, false, micros(start)))));
        } catch (RuntimeException e) {
            result.complete(new Outcome(IoStatus.error(Errno.EIO, "submit failed: " + e), false, micros(start)));
        }
        return result.completeOnTimeout(new Outcome(null, true, TimeUnit.MILLISECONDS.toMicros(timeoutMillis)),
                timeoutMillis, TimeUnit.MILLISECONDS);
    }

    private static long micros(long startNanos) {
        return (System.nanoTime() - startNanos) / 1000;
    }
}
