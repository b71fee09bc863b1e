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

    /** An AF_UNIX stream socket listening on an abstract address (nothing in the file system). */
    public static int listeningSocket() {
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM, 0);
        byte[] name = ("\0ddmapper-test-" + ProcessHandle.current().pid() + "-" + fd + "-" + System.nanoTime()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] addr = new byte[2 + name.length];
        addr[0] = (byte) LibC.AF_UNIX;
        System.arraycopy(name, 0, addr, 2, name.length);
        LibC.bind(fd, addr, addr.length);
        LibC.listen(fd, 1);
        return fd;
    }

    /** An AF_UNIX stream socket never connected. */
    public static int unconnectedStreamSocket() {
        return LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM, 0);
    }

    /** Whether a descriptor number is open in this process. */
    public static boolean isOpen(int fd) {
        return new java.io.File("/proc/self/fd/" + fd).exists();
    }
}
