package org.ddmapper.control.unix;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/** Descriptors of assorted kinds, for tests that pass the wrong ones. */
public final class TestFds {
    static {
        Native.register(TestFds.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private static native int pipe(int[] fds);

    private static native int open(String path, int flags);

    private TestFds() {}

    /** A pipe's two ends {read, write}. */
    public static int[] pipe() {
        int[] fds = new int[2];
        if (pipe(fds) != 0) throw new IllegalStateException("pipe failed");
        return fds;
    }

    /** A file opened read-only (flags 0) or read-write (2). */
    public static int open(java.nio.file.Path path, boolean readWrite) {
        int fd = open(path.toString(), readWrite ? 2 : 0);
        if (fd < 0) throw new IllegalStateException("open " + path + " failed");
        return fd;
    }

    /** A datagram socket (AF_UNIX SOCK_DGRAM). */
    public static int datagramSocket() {
        return LibC.socket(LibC.AF_UNIX, 2, 0);
    }

    /** A connected AF_UNIX stream socket pair. */
    public static int[] streamPair() {
        int[] sv = new int[2];
        LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM, 0, sv);
        return sv;
    }

    /** Whether a descriptor number is open in this process. */
    public static boolean isOpen(int fd) {
        return new java.io.File("/proc/self/fd/" + fd).exists();
    }
}
