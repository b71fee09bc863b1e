package org.ddmapper.checker.directio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathProbe;
import org.ddmapper.spi.PathState;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code directio}: reads the first block of the path bypassing the page cache, so the check
 * sees the storage and not a cached copy. For a path that is a file or block device it opens
 * the path with O_DIRECT and reads one aligned block (4 KiB, or 512 bytes when the device is
 * smaller) on a worker thread; where the file system refuses O_DIRECT (tmpfs) or for other
 * transports (nbd://) it reads the block through the path's own device. Up when the whole
 * block is read, down on an error or a short read, timeout past {@code checker_timeout}.
 */
@Component(service = PathChecker.class)
public class DirectioChecker implements PathChecker {
    static final int BLOCK_BYTES = 4096;
    private static final int MAX_WORKERS = 32;

    private final ExecutorService workers = new ThreadPoolExecutor(0, MAX_WORKERS, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "ddmapper-checker-directio");
                t.setDaemon(true);
                return t;
            });

    @Override public String name() { return "directio"; }

    @Override
    public CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis) {
        String reference = path.reference();
        if (!reference.startsWith("/")) return throughDevice(path, timeoutMillis, "");
        CompletableFuture<CheckResult> result = new CompletableFuture<>();
        try {
            workers.execute(() -> result.complete(directRead(path, Paths.get(reference), timeoutMillis)));
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(new CheckResult(PathState.PENDING,
                    MAX_WORKERS + " direct reads are still stuck; not starting another"));
        }
        return result.completeOnTimeout(new CheckResult(PathState.TIMEOUT,
                "direct read of block 0 gave no answer within " + timeoutMillis + " ms"), timeoutMillis, TimeUnit.MILLISECONDS)
                .thenCompose(r -> r == FALL_BACK ? throughDevice(path, timeoutMillis, " (no O_DIRECT here)")
                        : CompletableFuture.completedFuture(r));
    }

    /** Marks "O_DIRECT is not possible here; read through the device instead". */
    private static final CheckResult FALL_BACK = new CheckResult(PathState.UNCHECKED, "fall back");

    private static CheckResult directRead(BlockDevice device, Path file, long timeoutMillis) {
        OpenOption direct;
        try {
            direct = com.sun.nio.file.ExtendedOpenOption.DIRECT;
        } catch (LinkageError e) {
            return FALL_BACK;
        }
        int bytes = device.sizeSectors() * 512 >= BLOCK_BYTES ? BLOCK_BYTES : 512;
        long start = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, direct)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(2 * BLOCK_BYTES).alignedSlice(BLOCK_BYTES);
            buf.limit(bytes);
            int n = Math.max(0, ch.read(buf, 0)); // one read: O_DIRECT cannot resume at an unaligned offset
            long micros = (System.nanoTime() - start) / 1000;
            if (n < bytes) return new CheckResult(PathState.DOWN, "direct read of block 0 returned " + n + " of " + bytes + " bytes");
            return new CheckResult(PathState.UP, "direct read of " + bytes + " bytes took " + micros + " us");
        } catch (NoSuchFileException e) {
            return new CheckResult(PathState.DOWN, "direct read: " + file + " does not exist");
        } catch (IOException | UnsupportedOperationException e) {
            String why = String.valueOf(e.getMessage());
            if (why.contains("Invalid argument") || e instanceof UnsupportedOperationException) return FALL_BACK;
            return new CheckResult(PathState.DOWN, "direct read of block 0 failed: " + why);
        }
    }

    private static CompletableFuture<CheckResult> throughDevice(BlockDevice path, long timeoutMillis, String note) {
        return PathProbe.readStart(path, BLOCK_BYTES, timeoutMillis).thenApply(o -> {
            if (o.timedOut()) return new CheckResult(PathState.TIMEOUT, "read of block 0 gave no answer within " + timeoutMillis + " ms" + note);
            if (o.ok()) return new CheckResult(PathState.UP, "read of block 0 through the path took " + o.elapsedMicros() + " us" + note);
            return new CheckResult(PathState.DOWN, "read of block 0 failed: " + o.status() + note);
        });
    }

    @Deactivate
    void deactivate() {
        workers.shutdownNow();
    }
}
