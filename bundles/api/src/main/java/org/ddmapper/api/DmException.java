package org.ddmapper.api;

/**
 * A refused or failed device-mapper operation. The message is one readable English sentence
 * naming what was wrong (it is what ddsetup prints and what the control channel returns);
 * {@link #errno()} is the matching Linux errno.
 */
public class DmException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Errno errno;

    public DmException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public DmException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public Errno errno() { return errno; }
}
