package org.ddmapper.it.support;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;

/** Synchronous I/O over the asynchronous BlockDevice, each request bounded in time, and data patterns. */
public final class Io {
    public static final long TIMEOUT_SECONDS = 15;

    private Io() { }

    public static CompletableFuture<IoStatus> writeAsync(BlockDevice dev, long sector, byte[] data, int flags) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.write(sector, ByteBuffer.wrap(data), flags, f::complete));
        return f;
    }

    public static CompletableFuture<IoStatus> writeAsync(BlockDevice dev, long sector, byte[] data) {
        return writeAsync(dev, sector, data, 0);
    }

    public static CompletableFuture<IoStatus> readAsync(BlockDevice dev, long sector, ByteBuffer into) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.read(sector, into, f::complete));
        return f;
    }

    /** Submits the request {@code request} builds around the completion it is given. */
    public static CompletableFuture<IoStatus> submit(BlockDevice dev, Function<Consumer<IoStatus>, Bio> request) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(request.apply(f::complete));
        return f;
    }

    public static CompletableFuture<IoStatus> flushAsync(BlockDevice dev) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.flush(f::complete));
        return f;
    }

    /** The request's outcome; an AssertionError when it does not complete within the bound. */
    public static IoStatus get(CompletableFuture<IoStatus> f) {
        try {
            return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request did not complete within " + TIMEOUT_SECONDS + " s", e);
        }
    }

    public static IoStatus write(BlockDevice dev, long sector, byte[] data) {
        return get(writeAsync(dev, sector, data, 0));
    }

    public static IoStatus write(BlockDevice dev, long sector, byte[] data, int flags) {
        return get(writeAsync(dev, sector, data, flags));
    }

    public static IoStatus read(BlockDevice dev, long sector, ByteBuffer into) {
        return get(readAsync(dev, sector, into));
    }

    /** Reads and asserts success. */
    public static byte[] read(BlockDevice dev, long sector, int bytes) {
        ByteBuffer buf = ByteBuffer.allocate(bytes);
        IoStatus s = read(dev, sector, buf);
        assertTrue(s.isOk(), "read " + sector + "+" + bytes / 512 + ": " + s);
        return buf.array();
    }

    public static IoStatus flush(BlockDevice dev) {
        return get(flushAsync(dev));
    }

    /** Bytes of one value, {@code sectors} sectors long. */
    public static byte[] filled(int sectors, int value) {
        byte[] b = new byte[sectors * Bio.SECTOR_BYTES];
        Arrays.fill(b, (byte) value);
        return b;
    }

    /** A recognisable pattern that differs per seed. */
    public static byte[] pattern(int bytes, int seed) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) b[i] = (byte) (i * 13 + seed * 7);
        return b;
    }
}
