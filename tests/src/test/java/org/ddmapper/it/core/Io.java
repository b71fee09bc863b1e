package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;

/** Synchronous I/O helpers over the asynchronous BlockDevice, each bounded in time. */
final class Io {
    static final long TIMEOUT_SECONDS = 10;

    private Io() { }

    static CompletableFuture<IoStatus> writeAsync(BlockDevice dev, long sector, byte[] data, int flags) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.write(sector, ByteBuffer.wrap(data), flags, f::complete));
        return f;
    }

    static IoStatus write(BlockDevice dev, long sector, byte[] data) throws Exception {
        return writeAsync(dev, sector, data, 0).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    static CompletableFuture<IoStatus> readAsync(BlockDevice dev, long sector, ByteBuffer into) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.read(sector, into, f::complete));
        return f;
    }

    /** Reads and asserts success. */
    static byte[] read(BlockDevice dev, long sector, int bytes) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(bytes);
        IoStatus s = readAsync(dev, sector, buf).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertTrue(s.isOk(), "read " + sector + "+" + bytes / 512 + ": " + s);
        return buf.array();
    }

    static IoStatus flush(BlockDevice dev) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.flush(f::complete));
        return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** Bytes of one value, {@code sectors} sectors long. */
    static byte[] filled(int sectors, int value) {
        byte[] b = new byte[sectors * 512];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }
}
