package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.targets.multipath.internal.selector.PathArgs;

/**
 * One path of a multipath map: the reference as written in the table, the device serving it
 * now, whether it is active or failed, and its load. State fields are guarded by the owning
 * target's lock; the load counters are atomics so completions can update them without it.
 */
public final class Path {
    private final int number;
    private final String reference;
    private final PathArgs selectorArgs;
    private final AtomicInteger inflightCount = new AtomicInteger();
    private final AtomicLong inflightBytes = new AtomicLong();
    /** Requests sent down this path that have not ended (any of its devices). */
    private final Set<PathIo> inflight = ConcurrentHashMap.newKeySet();
    /** Devices replaced under this path, closed once no request of theirs is left. */
    private final Set<BlockDevice> retiring = ConcurrentHashMap.newKeySet();
    private PriorityGroup group;
    private volatile BlockDevice device;
    private boolean deviceOwned;
    private int generation;
    private boolean active;
    private int failCount;
    private String lastFailure = "";
    private String transport = TRANSPORT_TABLE;

    /** {@link #transport()} of a device the table opened. */
    static final String TRANSPORT_TABLE = "table";

    Path(int number, String reference, BlockDevice device, PathArgs selectorArgs) {
        this.number = number;
        this.reference = reference;
        this.device = device;
        this.selectorArgs = selectorArgs;
        this.active = device != null;
        if (device == null) lastFailure = "could not be opened when the table was loaded";
    }

    /** 1-based position of the path in the table (across all groups). */
    public int number() { return number; }

    /** The reference as written in the table. */
    public String reference() { return reference; }

    public PathArgs selectorArgs() { return selectorArgs; }

    public PriorityGroup group() { return group; }

    void group(PriorityGroup g) { this.group = g; }

    /** The device serving this path now (null when none could be opened). */
    public BlockDevice device() { return device; }

    /** Whether this target opened the current device itself (and so closes it). */
    boolean deviceOwned() { return deviceOwned; }

    /** Counts device swaps, so a late error from a replaced device does not fail the new one. */
    int generation() { return generation; }

    /** Replaces the device ({@code transport} says how the new one came); returns the previous one. */
    BlockDevice swapDevice(BlockDevice next, boolean owned, String transport) {
        BlockDevice previous = device;
        device = next;
        deviceOwned = owned;
        this.transport = transport;
        generation++;
        return previous;
    }

    /**
     * How the current device came to serve this path: {@code table} (opened with the table),
     * {@code reopened} (the monitor or reinstate_path dialled the reference again),
     * {@code passed-socket} or {@code passed-socket-negotiated} (reconnect_path).
     */
    public String transport() { return transport; }

    void track(PathIo io) { inflight.add(io); }

    void untrack(PathIo io) { inflight.remove(io); }

    /** Ends and takes out every request in flight here that may be given up on (see {@link PathIo#abandonable}). */
    List<PathIo> claimAbandonable() {
        List<PathIo> claimed = new ArrayList<>();
        for (PathIo io : inflight) {
            if (io.abandonable() && io.end()) {
                inflight.remove(io);
                claimed.add(io);
            }
        }
        return claimed;
    }

    void retire(BlockDevice d) { retiring.add(d); }

    /** Replaced devices none of whose requests is in flight any more, taken out of the retiring set (to be closed). */
    List<BlockDevice> drainedRetired() {
        if (retiring.isEmpty()) return List.of();
        List<BlockDevice> done = new ArrayList<>();
        for (BlockDevice d : retiring) {
            boolean busy = false;
            for (PathIo io : inflight) {
                if (io.device == d) {
                    busy = true;
                    break;
                }
            }
            if (!busy && retiring.remove(d)) done.add(d);
        }
        return done;
    }

    /** Every replaced device not closed yet (the map is torn down). */
    List<BlockDevice> takeRetired() {
        List<BlockDevice> all = new ArrayList<>();
        for (BlockDevice d : retiring) if (retiring.remove(d)) all.add(d);
        return all;
    }

    /** Replaced devices still waiting for their requests (tests, status). */
    int retiringCount() { return retiring.size(); }

    /** Whether the path is usable (kernel: is_active). */
    public boolean isActive() { return active; }

    void active(boolean value) { active = value; }

    public int failCount() { return failCount; }

    void failCount(int value) { failCount = value; }

    /** Why the path last failed ("" when it never did). */
    public String lastFailure() { return lastFailure; }

    void lastFailure(String reason) { lastFailure = reason; }

    /** Requests in flight on this path (queue-length's measure). */
    public int inflightCount() { return inflightCount.get(); }

    /** Bytes in flight on this path (service-time's measure). */
    public long inflightBytes() { return inflightBytes.get(); }

    void started(long bytes) {
        inflightCount.incrementAndGet();
        inflightBytes.addAndGet(bytes);
    }

    void ended(long bytes) {
        inflightCount.decrementAndGet();
        inflightBytes.addAndGet(-bytes);
    }

    @Override
    public String toString() { return number + ":" + reference; }
}
