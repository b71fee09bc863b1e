package org.ddmapper.targets.snapshot.internal;

import java.util.Locale;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.targets.snapshot.internal.store.ChunkSizes;

/**
 * The arguments of a {@code snapshot} or {@code snapshot-merge} line, checked as the kernel's
 * snapshot_ctr and dm_exception_store_create check them, with the kernel's words:
 * {@code <origin> <cow> <P|PO|N> <chunk_sectors> [<#features> [discard_zeroes_cow] [discard_passdown_origin]]}.
 * Store errors read "Couldn't create exception store: <the kernel's reason> (<detail>)", where the
 * kernel's log says only the first part.
 *
 * <p>Stricter than the kernel on purpose: the store word must be exactly {@code P}, {@code PO} or
 * {@code N} in any case (the kernel reads the first letter and ignores what follows {@code N} or
 * {@code PO}), and words after the feature group are refused (the kernel ignores them).
 *
 * @param originKey          {@link TargetContext#identityOf} of the origin: how the snapshot finds its origin's writes
 * @param cowKey             the same of the COW device: how two tables of one snapshot find each other
 * @param tableChunkSectors  the table's chunk size (0: the store's, or the default for a new one)
 */
public record SnapshotArgs(BlockDevice origin, BlockDevice cow, String originKey, String cowKey, StoreMode mode,
                           int tableChunkSectors, boolean discardZeroesCow, boolean discardPassdownOrigin) {

    /** The exception store a table asks for. */
    public enum StoreMode {
        /** Persistent, on the COW device in the kernel's format. */
        P,
        /** Persistent, and a full COW shows "Overflow" (userspace understands it) instead of invalidating on snapshot writes. */
        PO,
        /** Transient: in memory only. */
        N;

        public boolean persistent() { return this != N; }
    }

    static final String FEATURE_ZEROES = "discard_zeroes_cow";
    static final String FEATURE_PASSDOWN = "discard_passdown_origin";

    /** Reads a line of {@code type} ("snapshot" or "snapshot-merge"); the origin must cover the target's sectors. */
    public static SnapshotArgs parse(TargetContext context, TableArgs args, String type) {
        if (args.remaining() < 4) throw args.error("requires 4 or more arguments");
        BlockDevice origin = args.nextDevice("origin device");
        long end = context.startSector() + context.lengthSectors();
        if (origin.sizeSectors() < end)
            throw args.error("origin device '" + origin.reference() + "' too small: the target ends at sector " + end + ", the device has "
                    + origin.sizeSectors() + " sectors");
        BlockDevice cow = args.nextDevice("COW device");
        String originKey = context.identityOf(origin);
        String cowKey = context.identityOf(cow);
        if (originKey.equals(cowKey)) throw args.error("COW device cannot be the same as origin device");
        String modeWord = args.next("store type");
        StoreMode mode = switch (modeWord.toUpperCase(Locale.ROOT)) {
            case "P" -> StoreMode.P;
            case "PO" -> StoreMode.PO;
            case "N" -> StoreMode.N;
            default -> {
                char first = Character.toUpperCase(modeWord.charAt(0));
                throw storeError(args, first == 'P' ? "Unsupported persistent store option: " + TableLine.escape(modeWord.substring(1))
                        : "Exception store type is not P or N ('" + TableLine.escape(modeWord) + "')");
            }
        };
        if (mode == StoreMode.N && type.equals("snapshot-merge"))
            throw args.error("Snapshot exception store does not support snapshot-merge. (a transient store has no exceptions on disk to merge)");
        String chunkWord = args.next("chunk size");
        long chunk = TableLine.parseUnsigned(chunkWord);
        if (chunk < 0 || chunk > 0xFFFF_FFFFL) throw storeError(args, "Invalid chunk size ('" + TableLine.escape(chunkWord) + "')");
        if (chunk != 0) {
            String problem = ChunkSizes.problem(chunk, origin.logicalBlockBytes(), cow.logicalBlockBytes());
            if (problem != null) throw storeError(args, problem + " (" + chunk + " sectors; blocks of "
                    + Math.max(origin.logicalBlockBytes(), cow.logicalBlockBytes()) + " bytes)");
        } else if (mode == StoreMode.N) {
            throw args.error("Chunk size not set (a transient store needs one; 0 only picks the size of an existing persistent store)");
        }
        boolean zeroes = false;
        boolean passdown = false;
        if (args.hasNext()) {
            TableArgs features = featureGroup(args);
            while (features.hasNext()) {
                String f = features.next("feature");
                switch (f.toLowerCase(Locale.ROOT)) {
                    case FEATURE_ZEROES -> zeroes = true;
                    case FEATURE_PASSDOWN -> passdown = true;
                    default -> throw args.error("Unrecognised feature requested: '" + TableLine.escape(f) + "'");
                }
            }
            args.expectEnd();
            if (passdown && !zeroes) throw args.error("discard_passdown_origin feature depends on discard_zeroes_cow");
        }
        return new SnapshotArgs(origin, cow, originKey, cowKey, mode, (int) chunk, zeroes, passdown);
    }

    private static TableArgs featureGroup(TableArgs args) {
        String countWord = args.peek();
        long count = TableLine.parseUnsigned(countWord);
        if (count < 0 || count > 2) {
            args.next("feature count");
            throw args.error("Invalid number of feature arguments ('" + TableLine.escape(countWord) + "', at most 2)");
        }
        if (count > args.remaining() - 1) {
            args.next("feature count");
            throw args.error("Insufficient arguments: " + count + " features announced, " + args.remaining() + " given");
        }
        return args.nextGroup("feature count", 2);
    }

    private static RuntimeException storeError(TableArgs args, String reason) {
        return args.error("Couldn't create exception store: " + reason);
    }

    /** The TABLE text: origin, COW, the store's part (its chunk size once known), the features. */
    public String tableText(String storeText) {
        StringBuilder sb = new StringBuilder(TableLine.escape(origin.reference())).append(' ')
                .append(TableLine.escape(cow.reference())).append(' ').append(storeText);
        int features = (discardZeroesCow ? 1 : 0) + (discardPassdownOrigin ? 1 : 0);
        if (features > 0) {
            sb.append(' ').append(features);
            if (discardZeroesCow) sb.append(' ').append(FEATURE_ZEROES);
            if (discardPassdownOrigin) sb.append(' ').append(FEATURE_PASSDOWN);
        }
        return sb.toString();
    }

    /** The store's part of the TABLE text before the store is read: the table's words, canonical. */
    public String tableStoreText() {
        return mode.name() + " " + tableChunkSectors;
    }
}
