package org.ddmapper.it.control;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/** pipe(2), to hand the control socket a descriptor of the wrong kind. */
final class Pipes {
    static {
        Native.register(Pipes.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private static native int pipe(int[] fds);

    private Pipes() {}

    /** {read end, write end}; the caller closes both. */
    static int[] open() {
        int[] fds = new int[2];
        if (pipe(fds) != 0) throw new IllegalStateException("pipe failed");
        return fds;
    }
}
