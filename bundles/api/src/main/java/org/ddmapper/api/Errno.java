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
     * The C library's text for this errno ({@code strerror}, glibc's wording), which dmsetup
     * prints after a failed ioctl and scripts grep for: "Device or resource busy".
     */
    public String description() {
        return switch (this) {
            case EPERM -> "Operation not permitted";
            case ENOENT -> "No such file or directory";
            case EIO -> "Input/output error";
            case ENXIO -> "No such device or address";
            case E2BIG -> "Argument list too long";
            case EBADF -> "Bad file descriptor";
            case EAGAIN -> "Resource temporarily unavailable";
            case ENOMEM -> "Cannot allocate memory";
            case EACCES -> "Permission denied";
            case EBUSY -> "Device or resource busy";
            case EEXIST -> "File exists";
            case ENODEV -> "No such device";
            case EINVAL -> "Invalid argument";
            case ENOSPC -> "No space left on device";
            case EROFS -> "Read-only file system";
            case EPIPE -> "Broken pipe";
            case ERANGE -> "Numerical result out of range";
            case ENOSYS -> "Function not implemented";
            case ENODATA -> "No data available";
            case EPROTO -> "Protocol error";
            case EOVERFLOW -> "Value too large for defined data type";
            case EMSGSIZE -> "Message too long";
            case EOPNOTSUPP -> "Operation not supported";
            case ECONNRESET -> "Connection reset by peer";
            case ENOTCONN -> "Transport endpoint is not connected";
            case ESHUTDOWN -> "Cannot send after transport endpoint shutdown";
            case ETIMEDOUT -> "Connection timed out";
            case ECONNREFUSED -> "Connection refused";
            case ECANCELED -> "Operation canceled";
        };
    }

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
