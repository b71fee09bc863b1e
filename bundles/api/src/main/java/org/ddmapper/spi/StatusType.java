package org.ddmapper.spi;

/** Which status text a target renders. */
public enum StatusType {
    /** Runtime state ({@code dmsetup status}). */
    INFO,
    /** The constructor arguments, canonical, parsing back to an equal target ({@code dmsetup table}). */
    TABLE
}
