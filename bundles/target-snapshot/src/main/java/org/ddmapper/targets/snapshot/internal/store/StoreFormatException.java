package org.ddmapper.targets.snapshot.internal.store;

import org.ddmapper.api.Errno;

/**
 * A persistent store that cannot be used: unreadable, not a store, of an unknown version, or
 * inconsistent (an entry pointing outside the COW device, a truncated area chain). The message
 * names what was wrong, the errno is what the kernel answers for it (ENXIO for a foreign header,
 * EIO for a read that failed, EINVAL otherwise).
 */
public final class StoreFormatException extends Exception {
    private final Errno errno;

    public StoreFormatException(Errno errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    public Errno errno() { return errno; }
}
