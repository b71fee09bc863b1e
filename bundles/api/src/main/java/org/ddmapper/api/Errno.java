package org.ddmapper.api;

/**
 * Linux errno values used across ddmapper: in I/O completions, in control-channel replies
 * (as {@code -errno}) and on the NBD wire (mapped to NBD error codes there).
 */
public enum Errno {
    EPERM(1), ENOENT(2), EIO(5), ENXIO(6), E2BIG(7), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13),
    EBUSY(16), EEXIST(17), ENODEV(19), EINVAL(22), ENOSPC(28), EROFS(30), EPIPE(32), ERANGE(34),
    ENOSYS(38), ENODATA(61), EPROTO(71), EOVERFLOW(75), EMSGSIZE(90), EOPNOTSUPP(95),
    ECONNRESET(104), ENOTCONN(107), ESHUTDOWN(108), ETIMEDOUT(110), ECONNREFUSED(111), ECANCELED(125);

    private final int code;

    Errno(int code) { this.code = code; }

    /** The positive Linux errno number. */
    public int code() { return code; }

    /**
     * Whether an I/O error with this errno may be the fault of the path it went through (the
     * kernel's {@code blk_path_error}): transport and device-gone errors are; answers the storage
     * itself gave (no space, medium error, not supported, invalid request, read-only) are not.
     */
    public boolean isPathError() {
        return switch (this) {
            case ENOSPC, ENODATA, EOPNOTSUPP, EINVAL, EROFS, EPERM, EOVERFLOW, EMSGSIZE, E2BIG -> false;
            default -> true;
        };
    }

    /** The constant for a positive errno number, or EIO for one not listed. */
    public static Errno of(int code) {
        for (Errno e : values()) if (e.code == code) return e;
        return EIO;
    }
}
