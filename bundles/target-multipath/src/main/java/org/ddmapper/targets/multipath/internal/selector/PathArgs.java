package org.ddmapper.targets.multipath.internal.selector;

/**
 * A path's selector arguments. {@code repeatCount} is accepted for the kernel's grammar and
 * always 1 (the kernel forces it too); {@code relativeThroughput} (service-time, 0..100)
 * weighs the path against its siblings.
 */
public record PathArgs(int repeatCount, int relativeThroughput) {
    public static final PathArgs DEFAULT = new PathArgs(1, 1);
}
