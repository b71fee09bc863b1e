package org.ddmapper.it.control;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/** pipe(2), to hand the control socket a descriptor of the wrong kind; read(2), to read a raw descriptor a target adopted. */
final class Pipes {
    static {
        Native.register(Pipes.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private static native int pipe(int[] fds);

    private static native long read(int fd, byte[] buffer, long count);

    private Pipes() {}

    /** {read end, write end}; the caller closes both. */
    static int[] open() {
        int[] fds = new int[2];
        if (pipe(fds) != 0) throw new IllegalStateException("pipe failed");
        return fds;
    }

    /** Reads exactly {@code bytes} bytes from a blocking descriptor (fewer at end of file). */
    static byte[] readFully(int fd, int bytes) {
        byte[] out = new byte[bytes];
        int got = 0;
        while (got < bytes) {
            byte[] chunk = new byte[bytes - got];
            long n = read(fd, chunk, chunk.length);
            if (n < 0) throw new IllegalStateException("read from descriptor " + fd + " failed");
            if (n == 0) break;
            System.arraycopy(chunk, 0, out, got, (int) n);
            got += (int) n;
        }
        return java.util.Arrays.copyOf(out, got);
    }
}
