package org.ddmapper.api;

import java.util.Set;

/** A registered target type, as {@code ddsetup targets} lists it. */
public record TargetTypeInfo(String name, String version, Set<String> features, String usage, String bundle) {

    /** dmsetup's line: {@code name  v1.7.0}. */
    @Override
    public String toString() { return String.format("%-16s v%s", name, version); }
}
