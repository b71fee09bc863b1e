package org.ddmapper.control.unix;

import com.sun.jna.LastErrorException;

/** An eventfd another thread signals to wake a thread blocked in {@link Fds#poll}; safe to signal after close. */
public final class Wakeup implements AutoCloseable {
    private static final byte[] ONE = {1, 0, 0, 0, 0, 0, 0, 0};
    private int fd;

    public Wakeup() {
        this.fd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
    }

    public synchronized int fd() { return fd; }

    /** Makes the descriptor readable until {@link #drain}. */
    public synchronized void signal() {
        if (fd < 0) return;
        try {
            LibC.write(fd, ONE, 8);
        } catch (LastErrorException ignored) {
            // EAGAIN: the counter is already huge, so it is readable anyway; EBADF: closed
        }
    }

    /** Clears the signal. */
    public synchronized void drain() {
        if (fd < 0) return;
        try {
            LibC.read(fd, new byte[8], 8);
        } catch (LastErrorException ignored) {
            // EAGAIN: nothing signalled
        }
    }

    @Override
    public synchronized void close() {
        Fds.close(fd);
        fd = -1;
    }
}
