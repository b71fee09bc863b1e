package org.ddmapper.control.unix;

import java.io.IOException;

/** A failed system call: which call, its errno and the system's text for it. */
public final class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public ErrnoException(String call, int errno, String description) {
        super(call + ": " + description);
        this.errno = errno;
    }

    public int errno() { return errno; }
}
