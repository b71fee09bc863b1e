package org.ddmapper.target.linear;

/**
 * Where a sector of a striped target lives. The target's sectors are cut into chunks of
 * {@code 2^chunkShift} sectors dealt round-robin to the stripes: chunk {@code c} lies on stripe
 * {@code c % stripes}, as that stripe's chunk {@code c / stripes}.
 */
record StripeGeometry(int stripes, int chunkShift) {

    long chunkSectors() { return 1L << chunkShift; }

    /** The stripe holding a target sector. */
    int stripeOf(long sector) {
        return (int) ((sector >>> chunkShift) % stripes);
    }

    /** A target sector's place on its stripe (before the stripe's offset). */
    long sectorOnStripe(long sector) {
        long chunk = sector >>> chunkShift;
        return ((chunk / stripes) << chunkShift) | (sector & (chunkSectors() - 1));
    }

    /** The first sector after {@code sector} (inclusive) that lies within a chunk (chunk boundary or end). */
    long chunkEnd(long sector) {
        return (sector | (chunkSectors() - 1)) + 1;
    }

    /** How many chunks the target range [start, end) touches (end > start). */
    int chunksTouched(long start, long end) {
        return Math.toIntExact(((end - 1) >>> chunkShift) - (start >>> chunkShift) + 1);
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
        long chunkStart = onStripe & ~(chunkSectors() - 1);
        return stripe < holder ? chunkStart + chunkSectors() : chunkStart;
    }
}
