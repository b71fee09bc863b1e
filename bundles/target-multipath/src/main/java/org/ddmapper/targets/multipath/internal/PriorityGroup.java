package org.ddmapper.targets.multipath.internal;

import java.util.List;
import org.ddmapper.targets.multipath.internal.selector.PathSelector;

/** A priority group: its paths and the selector that spreads I/O over them. Guarded by the target's lock. */
public final class PriorityGroup {
    private final int number;
    private final PathSelector selector;
    private final List<Path> paths;
    private boolean bypassed;

    PriorityGroup(int number, PathSelector selector, List<Path> paths) {
        this.number = number;
        this.selector = selector;
        this.paths = List.copyOf(paths);
        for (Path p : this.paths) p.group(this);
    }

    /** 1-based group number, as messages and status lines name it. */
    public int number() { return number; }

    public PathSelector selector() { return selector; }

    public List<Path> paths() { return paths; }

    /** Whether the group is skipped while another group has a usable path (disable_group). */
    public boolean isBypassed() { return bypassed; }

    void bypassed(boolean value) { bypassed = value; }

    /** Active paths in this group. */
    public int activePaths() {
        int n = 0;
        for (Path p : paths) if (p.isActive()) n++;
        return n;
    }

    /** A path for an I/O of {@code bytes}, or null when the group has no usable path. */
    Path select(long bytes) {
        return selector.select(paths, bytes);
    }
}
