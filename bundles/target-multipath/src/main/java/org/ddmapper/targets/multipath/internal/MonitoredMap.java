package org.ddmapper.targets.multipath.internal;

import java.util.List;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventPayload;

/**
 * What the path monitor sees of a multipath map and may do to it. Each call takes the map's lock
 * briefly and returns at once, except {@link #reopen}, which opens a device (an NBD connect and
 * handshake) and runs on the monitor's reconnect executor. The changes that take an expected fail
 * count are refused (false) when I/O failed the path again since the monitor looked.
 */
public interface MonitoredMap {

    /** The device name the map was built under (multipath.conf's per-map settings use it). */
    String name();

    List<Path> paths();

    /** The priority groups, in priority order. */
    List<PriorityGroup> groups();

    /** Active paths now. */
    int validPaths();

    /** How often {@code path} has failed so far. */
    int failCount(Path path);

    /** The group I/O goes to now; 0 when none was chosen since the last loss of every path in it. */
    int groupInUse();

    boolean isSuspended();

    /** Fails a path the checker found down. */
    void failPath(Path path, String reason);

    /** Reinstates a path the checker found up, unless its fail count moved from {@code expectedFailCount}. */
    boolean reinstatePath(Path path, String reason, int expectedFailCount);

    /** Opens a path's reference anew (a reconnect); the caller hands it to {@link #replaceDevice} or closes it. */
    BlockDevice reopen(Path path);

    /**
     * Puts a reopened device under a path, reinstating it unless {@code reinstate} is false (flap
     * damping holds it out); refused (the device closed) when the map is gone or the fail count moved.
     */
    boolean replaceDevice(Path path, BlockDevice fresh, boolean reinstate, String reason, int expectedFailCount);

    /** Turns queueing with no path on or off (no_path_retry); returns whether it changed. */
    boolean setQueueIfNoPath(boolean queue, String reason);

    /** Makes group {@code number} the one in use (failback). */
    void switchGroup(int number, String reason);

    /** Raises an event the monitor decided on (PATH_DAMPED). */
    void raise(EventPayload event);
}
