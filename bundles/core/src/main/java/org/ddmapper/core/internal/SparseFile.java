package org.ddmapper.core.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.ExtentList;
import org.tinylog.Logger;

/**
 * A regular file's holes, through a descriptor of its own (Java can neither lseek with
 * SEEK_DATA/SEEK_HOLE nor punch holes): the allocation of a range of sectors, and punching a
 * hole (fallocate PUNCH_HOLE|KEEP_SIZE) for DISCARD and WRITE_ZEROES; also reads from the page
 * cache alone (preadv2 RWF_NOWAIT, {@link #readCached}). The descriptor serves only lseek,
 * fallocate and preadv2, which take their offsets as arguments, so concurrent callers do not
 * disturb each other; a read-write lock keeps {@link #close} from freeing the descriptor number
 * (for another file to reuse) under a call.
 */
final class SparseFile implements AutoCloseable {
    private final String reference;
    private final int fd;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Guarded by the write lock. */
    private boolean closed;
    /** False once the file system said it cannot punch holes (EOPNOTSUPP): not tried again. */
    private volatile boolean punches = true;

    private SparseFile(String reference, int fd) {
        this.reference = reference;
        this.fd = fd;
    }

    /**
     * Opens the file's own descriptor, read-only or read-write; null when open fails (the file
     * then reads as all data). Throws LinkageError without JNA: the caller catches it where this
     * class is not needed to do so.
     */
    static SparseFile open(String reference, Path path, boolean readOnly) {
        try {
            return new SparseFile(reference, LibC.open64(path.toString(), (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_CLOEXEC, 0));
        } catch (LastErrorException e) {
            Logger.info("'{}': holes are not reported nor punched: open failed (errno {})", reference, e.getErrorCode());
            return null;
        }
    }

    /** The allocation of sectors {@code [startSector, +lengthSectors)}: SEEK_DATA and SEEK_HOLE in turn, partial sectors counted as data. */
    List<Extent> allocation(long startSector, long lengthSectors) {
        ExtentList out = new ExtentList(startSector, lengthSectors);
        long end = startSector + lengthSectors;
        lock.readLock().lock();
        try {
            if (closed) throw new DmException(Errno.ENODEV, "'" + reference + "' is closed");
            for (long sector = startSector; sector < end; ) {
                long data = seek(sector << 9, LibC.SEEK_DATA);
                long holeEnd = data < 0 ? end : Math.min(end, data >>> 9);
                if (holeEnd > sector) {
                    if (!out.add(holeEnd - sector, Extent.Kind.HOLE)) break;
                    sector = holeEnd;
                    continue;
                }
                long hole = seek(data, LibC.SEEK_HOLE);
                long dataEnd = Math.min(end, Math.max(sector + 1, (hole + 511) >>> 9));
                if (!out.add(dataEnd - sector, Extent.Kind.DATA)) break;
                sector = dataEnd;
            }
        } finally {
            lock.readLock().unlock();
        }
        return out.toList();
    }

    /** lseek with SEEK_DATA or SEEK_HOLE; -1 for ENXIO (no data from {@code pos} to the end of the file). */
    private long seek(long pos, int whence) {
        for (;;) {
            try {
                return LibC.lseek64(fd, pos, whence);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.ENXIO) return -1;
                if (e.getErrorCode() != LibC.EINTR)
                    throw new DmException(Errno.EIO, "'" + reference + "': lseek(" + (whence == LibC.SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE")
                            + ") at byte " + pos + " failed (errno " + e.getErrorCode() + ")");
            }
        }
    }

    /** One struct iovec per thread for {@link #readCached}. */
    private static final ThreadLocal<Memory> IOVEC = ThreadLocal.withInitial(() -> new Memory(16));
    /** False once the file system refused RWF_NOWAIT (EOPNOTSUPP): every read then goes to the I/O threads. */
    private volatile boolean nowait = true;

    /**
     * Reads into the direct buffer {@code into} (position to limit) from the page cache only
     * (preadv2 RWF_NOWAIT), never waiting for the disk: true when it read all of it (and the
     * buffer's position moved to its limit), false when some of it is not cached or the file
     * system cannot say (the buffer is then untouched as far as the caller is concerned: its
     * position did not move).
     */
    boolean readCached(ByteBuffer into, long pos) {
        if (!nowait || !into.isDirect()) return false;
        int want = into.remaining();
        lock.readLock().lock();
        try {
            if (closed) return false;
            Memory iov = IOVEC.get();
            iov.setPointer(0, Native.getDirectBufferPointer(into).share(into.position()));
            iov.setLong(8, want);
            long n = LibC.preadv64v2(fd, iov, 1, pos, LibC.RWF_NOWAIT);
            if (n != want) return false;
            into.position(into.limit());
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EOPNOTSUPP || e.getErrorCode() == LibC.ENOSYS) {
                nowait = false;
                Logger.info("'{}': the file system cannot read without waiting (RWF_NOWAIT); all reads go to the I/O threads", reference);
            }
            return false;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether punching holes is worth a try (the file system has not refused it). */
    boolean punches() { return punches; }

    /** Punches a hole over {@code [pos, pos + bytes)}, keeping the size; false when the file system cannot (then the caller writes zeros). */
    boolean punchHole(long pos, long bytes) throws IOException {
        if (!punches) return false;
        lock.readLock().lock();
        try {
            if (closed) throw new ClosedChannelException();
            for (;;) {
                try {
                    LibC.fallocate64(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, pos, bytes);
                    return true;
                } catch (LastErrorException e) {
                    int errno = e.getErrorCode();
                    if (errno == LibC.EOPNOTSUPP || errno == LibC.ENOSYS) {
                        punches = false;
                        Logger.info("'{}': the file system cannot punch holes; discards are dropped and zeros written out", reference);
                        return false;
                    }
                    if (errno != LibC.EINTR)
                        throw new IOException("fallocate(PUNCH_HOLE) at byte " + pos + " length " + bytes + " failed (errno " + errno + ")");
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            LibC.close(fd);
        } catch (LastErrorException e) {
            // the descriptor is gone either way
        } finally {
            lock.writeLock().unlock();
        }
    }
}
