package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * A file or block device opened by path. Requests run on the shared I/O pool with positional
 * reads and writes; FLUSH is fdatasync (force(false)), FUA is a write followed by one. The size
 * is fixed at open. DISCARD is accepted and dropped; WRITE_ZEROES writes zeros.
 */
final class FileDevice implements BlockDevice {
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final String reference;
    private final FileChannel channel;
    private final long sizeSectors;
    private final boolean readOnly;
    private final boolean blockDevice;
    private final Executor io;
    private volatile boolean closed;

    FileDevice(String reference, FileChannel channel, long sizeSectors, boolean readOnly, boolean blockDevice, Executor io) {
        this.reference = reference;
        this.channel = channel;
        this.sizeSectors = sizeSectors;
        this.readOnly = readOnly;
        this.blockDevice = blockDevice;
        this.io = io;
    }

    @Override public String reference() { return reference; }

    @Override public long sizeSectors() { return sizeSectors; }

    @Override public boolean readOnly() { return readOnly; }

    /** Reads, writes and flushes only: DISCARD is dropped and WRITE_ZEROES written out as zero buffers (not native). */
    @Override public boolean supports(BioOp op) { return op != BioOp.DISCARD && op != BioOp.WRITE_ZEROES; }

    boolean isBlockDevice() { return blockDevice; }

    @Override
    public void submit(Bio bio) {
        if (closed) {
            bio.fail(Errno.ENODEV, "'" + reference + "' is closed");
            return;
        }
        BioOp op = bio.op();
        if (op != BioOp.FLUSH) {
            long end = bio.sector() + bio.lengthSectors();
            if (end > sizeSectors || end < bio.sector()) {
                bio.fail(op.isWrite() ? Errno.ENOSPC : Errno.EINVAL, "'" + reference + "': request " + bio.sector() + "+"
                        + bio.lengthSectors() + " lies beyond its " + sizeSectors + " sectors");
                return;
            }
            if (op.isWrite() && readOnly) {
                bio.fail(Errno.EROFS, "'" + reference + "' is open read-only");
                return;
            }
        }
        try {
            io.execute(() -> run(bio));
        } catch (RejectedExecutionException e) {
            bio.fail(Errno.ENODEV, "'" + reference + "': I/O pool is shut down");
        }
    }

    private void run(Bio bio) {
        long pos = bio.sector() << Bio.SECTOR_SHIFT;
        try {
            switch (bio.op()) {
                case READ -> read(bio.data(), pos);
                case WRITE -> {
                    write(bio.data(), pos);
                    if (bio.isFua()) channel.force(false);
                }
                case FLUSH -> channel.force(false);
                case DISCARD -> { }
                case WRITE_ZEROES -> {
                    writeZeroes(pos, bio.lengthBytes());
                    if (bio.isFua()) channel.force(false);
                }
            }
        } catch (ClosedChannelException e) {
            bio.fail(Errno.ENODEV, "'" + reference + "' was closed during " + bio.op().name().toLowerCase());
            return;
        } catch (IOException | RuntimeException e) {
            bio.fail(Errno.EIO, "'" + reference + "': " + bio.op().name().toLowerCase() + " at sector " + bio.sector() + " failed: " + e.getMessage());
            return;
        }
        bio.complete(IoStatus.OK);
    }

    private void read(ByteBuffer into, long pos) throws IOException {
        while (into.hasRemaining()) {
            int n = channel.read(into, pos);
            if (n < 0) {
                // the file shrank under us: what lies past its end reads as zeros
                while (into.hasRemaining()) into.put((byte) 0);
                return;
            }
            pos += n;
        }
    }

    private void write(ByteBuffer from, long pos) throws IOException {
        while (from.hasRemaining()) pos += channel.write(from, pos);
    }

    private void writeZeroes(long pos, long bytes) throws IOException {
        while (bytes > 0) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(ZERO_CHUNK, bytes));
            int len = z.remaining();
            write(z, pos);
            pos += len;
            bytes -= len;
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            // nothing useful to do: the descriptor is gone either way
        }
    }

    @Override
    public String toString() { return reference; }
}
