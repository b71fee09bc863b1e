package org.ddmapper.core.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The libc calls a file's holes and page-cache reads need and Java lacks (lseek
 * SEEK_DATA/SEEK_HOLE, fallocate PUNCH_HOLE, preadv2 RWF_NOWAIT), by JNA direct mapping. Constants are Linux's; every symbol is exported by glibc
 * 2.28 and older. Failures throw {@link LastErrorException} carrying errno.
 */
final class LibC {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 02000000;
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;
    static final int FALLOC_FL_KEEP_SIZE = 1;
    static final int FALLOC_FL_PUNCH_HOLE = 2;
    static final int ENXIO = 6;
    static final int EINTR = 4;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;
    static final int EAGAIN = 11;
    /** preadv2 flag: fail with EAGAIN rather than wait for the disk (answer from the page cache only). */
    static final int RWF_NOWAIT = 8;

    static {
        Native.register(LibC.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {}

    static native int open64(String path, int flags, int mode) throws LastErrorException;

    static native long lseek64(int fd, long offset, int whence) throws LastErrorException;

    static native int fallocate64(int fd, int mode, long offset, long length) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    /** preadv2 with a 64-bit offset (glibc 2.26+): {@code iov} points at {@code iovcnt} struct iovec. */
    static native long preadv64v2(int fd, Pointer iov, int iovcnt, long offset, int flags) throws LastErrorException;
}
