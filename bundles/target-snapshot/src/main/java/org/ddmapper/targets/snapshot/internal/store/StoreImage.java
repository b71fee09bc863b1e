package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;

/**
 * What {@link StoreReader} found on a COW device: a blank one (set it up), an invalidated store,
 * or a valid store with its exceptions (handed to the reader's sink) and where writing goes on:
 * the next free chunk, the current metadata area, how many of its entries are used, and that
 * area's bytes.
 *
 * @param chunkSectors       the chunk size in force (the header's, else the table's or the default)
 * @param tableOverridden    whether the header's chunk size replaced a different one from the table
 * @param area               the current area's bytes (a chunk), null unless {@link Kind#VALID}
 */
public record StoreImage(Kind kind, int chunkSectors, boolean tableOverridden, long nextFree, long currentArea,
                         int currentCommitted, long exceptions, ByteBuffer area) {

    /** The three states a store can be found in. */
    public enum Kind {
        /** Chunk 0 is blank (magic 0): a new store, to be written. */
        BLANK,
        /** The header says invalid: the snapshot comes up as Invalid. */
        INVALID,
        /** A valid store. */
        VALID
    }

    static StoreImage blank(int chunkSectors) {
        return new StoreImage(Kind.BLANK, chunkSectors, false, StoreLayout.FIRST_FREE_CHUNK, 0, 0, 0, null);
    }

    static StoreImage invalid(int chunkSectors, boolean overridden) {
        return new StoreImage(Kind.INVALID, chunkSectors, overridden, StoreLayout.FIRST_FREE_CHUNK, 0, 0, 0, null);
    }
}
