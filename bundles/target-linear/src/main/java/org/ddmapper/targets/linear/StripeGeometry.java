package org.ddmapper.targets.linear;

/**
 * Where a sector of a striped target lives. The target's sectors are cut into chunks of
 * {@code chunkSectors} sectors dealt round-robin to the stripes: chunk {@code c} lies on stripe
 * {@code c % stripes}, as that stripe's chunk {@code c / stripes}. Any non-zero chunk size works,
 * as in the kernel since 3.6; a power of two uses shifts and masks, others division.
 */
final class StripeGeometry {
    private final int stripes;
    private final long chunkSectors;
    /** log2 of the chunk when it is a power of two, else -1. */
    private final int shift;

    StripeGeometry(int stripes, long chunkSectors) {
        if (stripes < 1 || chunkSectors < 1) throw new IllegalArgumentException(stripes + " stripes of " + chunkSectors + " sectors");
        this.stripes = stripes;
        this.chunkSectors = chunkSectors;
        this.shift = Long.bitCount(chunkSectors) == 1 ? Long.numberOfTrailingZeros(chunkSectors) : -1;
    }

    int stripes() { return stripes; }

    long chunkSectors() { return chunkSectors; }

    private long chunkOf(long sector) { return shift >= 0 ? sector >>> shift : sector / chunkSectors; }

    private long withinChunk(long sector) { return shift >= 0 ? sector & (chunkSectors - 1) : sector % chunkSectors; }

    /** The stripe holding a target sector. */
    int stripeOf(long sector) {
        return (int) (chunkOf(sector) % stripes);
    }

    /** A target sector's place on its stripe (before the stripe's offset). */
    long sectorOnStripe(long sector) {
        return chunkOf(sector) / stripes * chunkSectors + withinChunk(sector);
    }

    /** The first sector after {@code sector} (inclusive) that lies within a chunk (chunk boundary or end). */
    long chunkEnd(long sector) {
        return sector - withinChunk(sector) + chunkSectors;
    }

    /** How many chunks the target range [start, end) touches (end > start). */
    int chunksTouched(long start, long end) {
        return Math.toIntExact(chunkOf(end - 1) - chunkOf(start) + 1);
    }

    /**
     * Where target sector {@code sector} falls on stripe {@code stripe}: the place of the first
     * sector at or after it that lies on that stripe (the kernel's stripe_map_range_sector).
     * A target range [s, e) covers [bound(s), bound(e)) of each stripe, contiguously.
     */
    long boundOnStripe(long sector, int stripe) {
        int holder = stripeOf(sector);
        long onStripe = sectorOnStripe(sector);
        if (holder == stripe) return onStripe;
        long chunkStart = onStripe - withinChunk(sector);
        return stripe < holder ? chunkStart + chunkSectors : chunkStart;
    }
}
