package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * Whole-buffer I/O on the COW device for the store: asynchronous reads as a {@link StoreReader}
 * source, and blocking writes for setting up a store while a table is resumed (bounded by
 * {@link StoreReader#READ_TIMEOUT_SECONDS}).
 */
public final class DeviceIo {
    private DeviceIo() {}

    /** A {@link StoreReader.ChunkSource} over a device; a failed read completes the future exceptionally. */
    public static StoreReader.ChunkSource source(BlockDevice device) {
        return (sector, bytes) -> {
            CompletableFuture<ByteBuffer> done = new CompletableFuture<>();
            ByteBuffer buffer = ByteBuffer.allocateDirect(bytes);
            try {
                device.submit(Bio.read(sector, buffer.duplicate(), status -> {
                    if (status.isOk()) done.complete(buffer);
                    else done.completeExceptionally(new java.io.IOException(status.toString()));
                }));
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
            return done;
        };
    }

    /** Writes {@code data} at {@code sector} and waits; throws naming {@code what} when it fails. */
    public static void write(BlockDevice device, long sector, ByteBuffer data, int flags, String what) throws StoreFormatException {
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        device.submit(Bio.write(sector, data.duplicate(), flags, done::complete));
        await(done, what);
    }

    /** Makes the device's earlier writes durable and waits. */
    public static void flush(BlockDevice device, String what) throws StoreFormatException {
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        device.submit(Bio.flush(done::complete));
        await(done, what);
    }

    private static void await(CompletableFuture<IoStatus> done, String what) throws StoreFormatException {
        IoStatus status;
        try {
            status = done.get(StoreReader.READ_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new StoreFormatException(Errno.EIO, "cannot write " + what + ": no answer within " + StoreReader.READ_TIMEOUT_SECONDS + " s");
        } catch (ExecutionException e) {
            throw new StoreFormatException(Errno.EIO, "cannot write " + what + ": " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreFormatException(Errno.EIO, "interrupted while writing " + what);
        }
        if (!status.isOk())
            throw new StoreFormatException(status.errno() == null ? Errno.EIO : status.errno(), "cannot write " + what + ": " + status);
    }
}
