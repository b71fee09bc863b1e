package org.ddmapper.spi;

import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.PassedFd;

/**
 * What the core gives a target: where it sits, how to raise events, shared timers, devices opened
 * while it lives and the shared copy engine. Every method may be called from any thread.
 */
public interface TargetContext {

    /** The device's name when the target was built (for messages and logs; a rename does not update it). */
    String deviceName();

    /** This target's index in its table. */
    int targetIndex();

    long startSector();

    long lengthSectors();

    /** Whether the table is read-only. */
    boolean readOnly();

    /**
     * Raises an event on the device (counted in its event_nr), written as the record of its kind
     * ({@code new EventPayload.PathFailed(...)}, or {@link EventPayload.TargetEvent} for a target's
     * own details): each kind's keys are spelled once, in {@link EventPayload}. Never blocks for long;
     * listeners hear it on this thread.
     *
     * @since 1.4
     */
    void raise(EventPayload event);

    /**
     * Raises an event given as a kind and its key/value details, read as that kind's record
     * ({@link EventPayload#parse}: details that do not fit arrive as {@link EventPayload.Unparsed},
     * with the same keys).
     *
     * @deprecated since 1.4: raise the kind's record with {@link #raise(EventPayload)}.
     */
    @Deprecated
    default void raiseEvent(EventKind kind, Map<String, String> details) {
        raise(EventPayload.parse(kind, details));
    }

    /** A shared scheduler for timers (delays, timeouts). Never block in its tasks. */
    ScheduledExecutorService scheduler();

    /** Opens another device reference while the target lives (e.g. a path coming back); the caller closes it. */
    BlockDevice openDevice(String reference);

    /**
     * Opens {@code reference} over a socket someone passed with a message (the provider of the
     * reference's scheme does the protocol; {@code negotiated} says the handshake is already done).
     */
    BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated);

    /**
     * Whether this target is being rebuilt from a table that was live (or loaded) before: its type's
     * bundle was updated or replaced and the core rebuilds the same lines on the new version. A
     * constructor should then accept what the running table tolerated (a path that cannot be opened
     * now is a failed path, not a reason to refuse), since refusing strands the device's I/O.
     *
     * @since 1.1
     */
    default boolean rebuiltForHandover() { return false; }

    /**
     * The copy engine for chunk and region copies (the kernel's kcopyd): a snapshot's copy-out,
     * a mirror's resync. Keep the one you get; the core hands every target the same copier, so
     * the bound on copy buffers is shared. Default: a copier of its own over {@link #scheduler()}.
     *
     * @since 1.3
     */
    default Copier copier() { return new Copier(scheduler()); }

    /**
     * A key that is equal for two opened devices exactly when they are the same storage, however
     * their references were written (the kernel compares {@code block_device} pointers): a file
     * or block device by its file system and inode ({@code /a.img}, {@code direct:/a.img} and a
     * symbolic link to it are one), a mapped device by its instance (a rename does not change
     * it), others by the reference as written. How a snapshot and the origin target of another
     * mapped device find each other. Default: the reference as written.
     *
     * @since 1.4
     */
    default String identityOf(BlockDevice device) { return device.reference(); }
}
