package org.ddmapper.targets.snapshot.internal.store;

/** What a status line shows of a store: {@code <allocated>/<total> <metadata>}, all in sectors. */
public record Usage(long allocatedSectors, long totalSectors, long metadataSectors) {
    /** The kernel's text. */
    public String text() {
        return allocatedSectors + "/" + totalSectors + " " + metadataSectors;
    }

    /** COW use in percent, as lvs shows Data% (0 for an empty COW device). */
    public double percent() {
        return totalSectors == 0 ? 0 : 100.0 * allocatedSectors / totalSectors;
    }
}
