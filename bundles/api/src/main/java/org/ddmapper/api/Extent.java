package org.ddmapper.api;

/**
 * A run of a device's sectors and what it holds, one element of an allocation answer
 * ({@link BlockDevice#allocation}).
 */
public record Extent(long startSector, long lengthSectors, Extent.Kind kind) {

    /** What a run holds. */
    public enum Kind {
        /** Allocated, or the device cannot tell: reads return what was written. Always a true answer. */
        DATA,
        /** Not allocated, and reads as zeros (a file's hole, the zero target): NBD's HOLE and ZERO states. */
        HOLE
    }

    public Extent {
        if (startSector < 0 || lengthSectors <= 0) throw new IllegalArgumentException("extent " + startSector + "+" + lengthSectors);
        if (kind == null) throw new IllegalArgumentException("extent without a kind");
    }

    /** One DATA run over a range: the answer of a device that cannot tell holes. */
    public static Extent data(long startSector, long lengthSectors) {
        return new Extent(startSector, lengthSectors, Kind.DATA);
    }

    /** The first sector after this run. */
    public long endSector() { return startSector + lengthSectors; }
}
