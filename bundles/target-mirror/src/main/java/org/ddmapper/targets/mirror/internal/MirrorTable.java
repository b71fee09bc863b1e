package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.TargetContext;

/**
 * A parsed mirror table line, dm-raid1's grammar:
 * {@code <log_type> <#log_args> <log_args…> <#legs> [<dev> <offset>]{#legs} [<#features> [handle_errors] [keep_log]]}.
 *
 * <p>Refusals carry the kernel's texts in the kernel's order (mirror_ctr, create_dirty_log,
 * dm-log's create_log_context, get_mirror, parse_features); where the kernel puts its reason in the
 * log and answers "Error creating mirror dirty log", the reason follows that text here:
 * {@code mirror: Error creating mirror dirty log: invalid region size 1000}.
 *
 * <p>A leg whose device cannot be opened is refused ("Device lookup failure"), except while the
 * core rebuilds a table that was live (a live upgrade), and except, with {@code handle_errors}, a
 * remote leg whose server is down (connection refused, reset, timed out) while another leg opened:
 * then the leg is taken as failed (its area null, status D) — the kernel refuses, but a mirror
 * should come back after a restart with one of its remote legs away.
 *
 * @param legs         the legs in table order; a leg's area is null when it could not be opened
 * @param legRefs      each leg's reference as written
 * @param legOffsets   each leg's offset in sectors
 */
public record MirrorTable(LogSpec log, List<DeviceArea> legs, List<String> legRefs, List<Long> legOffsets,
                          boolean handleErrors, boolean keepLog) {
    /** dm-raid1's MAX_NR_MIRRORS: DM_KCOPYD_MAX_REGIONS (8) + 1. */
    public static final int MAX_LEGS = 9;
    /**
     * The most regions a mirror may have here (the kernel allows 2^32 - 1): three bitmaps of 8 MiB
     * each at this count. A larger device needs a larger region size.
     */
    public static final long MAX_REGIONS = 1L << 26;
    /** Why a remote leg may not open that means its server is down, not that the table is wrong. */
    static final java.util.Set<Errno> TRANSPORT_DOWN = java.util.Set.of(Errno.ECONNREFUSED, Errno.ECONNRESET, Errno.ETIMEDOUT,
            Errno.ENOTCONN, Errno.EPIPE, Errno.ESHUTDOWN);
    static final String TYPE = "mirror";
    static final String DIRTY_LOG = "Error creating mirror dirty log";

    public MirrorTable {
        legs = java.util.Collections.unmodifiableList(new ArrayList<>(legs));
        legRefs = List.copyOf(legRefs);
        legOffsets = List.copyOf(legOffsets);
    }

    public int legCount() { return legRefs.size(); }

    /** Parses the words after {@code mirror}. */
    public static MirrorTable parse(TargetContext context, TableArgs args) {
        LogSpec log = parseLog(context, args);
        long count = TableLine.parseUnsigned(args.hasNext() ? args.next("number of mirrors") : "");
        if (count < 2 || count > MAX_LEGS) throw args.error("Invalid number of mirrors");
        if (args.remaining() < count * 2) throw args.error("Too few mirror arguments");
        List<DeviceArea> legs = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        TableException down = null;
        for (int i = 0; i < count; i++) {
            String reference = args.peek();
            BlockDevice device;
            try {
                device = openLeg(context, args);
            } catch (TableException e) {
                if (!TRANSPORT_DOWN.contains(e.errno())) throw e;
                if (down == null) down = e;
                device = null;
            }
            long offset = TableLine.parseUnsigned(args.next("leg offset"));
            if (offset < 0) throw args.error("Invalid offset");
            if (device != null) {
                long size = device.sizeSectors();
                long length = context.lengthSectors();
                if (offset > size || length > size - offset)
                    throw args.error("device '" + TableLine.escape(reference) + "' too small: offset " + offset + " + length "
                            + length + " > size " + size + " sectors");
            }
            refs.add(reference);
            offsets.add(offset);
            legs.add(device == null ? null : new DeviceArea(device, offset));
        }
        boolean[] features = parseFeatures(args);
        if (args.hasNext()) throw args.error("Too many mirror arguments");
        // a remote leg that is down is a failed leg with handle_errors, as long as another leg opened
        if (down != null && (!features[0] || legs.stream().allMatch(java.util.Objects::isNull))) throw down;
        return new MirrorTable(log, legs, refs, offsets, features[0], features[1]);
    }

    /**
     * The next leg's device, or null when it cannot be opened while the core rebuilds a live table.
     * Refused as "Device lookup failure" otherwise; the caller takes a leg whose transport is down
     * ({@link #TRANSPORT_DOWN}) as failed when the table has handle_errors.
     */
    private static BlockDevice openLeg(TargetContext context, TableArgs args) {
        try {
            return args.nextDevice("leg device");
        } catch (TableException e) {
            if (context.rebuiltForHandover()) return null;
            throw args.error(e.errno(), "Device lookup failure: " + withoutPrefix(e));
        }
    }

    private static LogSpec parseLog(TargetContext context, TableArgs args) {
        if (args.remaining() < 2) throw args.error("Insufficient mirror log arguments");
        String type = args.next("log type");
        long paramCount = TableLine.parseUnsigned(args.peek());
        if (paramCount < 0 || paramCount > 0xFFFF_FFFFL) throw args.error("Invalid mirror log argument count");
        if (paramCount > args.remaining() - 1) throw args.error("Insufficient mirror log arguments");
        TableArgs params = args.nextGroup("log argument count", Integer.MAX_VALUE);
        return switch (type) {
            case "core" -> {
                if (params.remaining() < 1 || params.remaining() > 3)
                    throw logError(args, "wrong number of arguments to dirty region log");
                String regionWord = params.next("region size");
                Tail tail = tail(args, params);
                yield new LogSpec.Core(regionSize(context, args, regionWord), tail.sync, tail.blockOnError);
            }
            case "disk" -> {
                if (params.remaining() < 2 || params.remaining() > 4) throw logError(args, "wrong number of arguments to disk dirty region log");
                BlockDevice device;
                try {
                    device = params.nextDevice("log device");
                } catch (TableException e) {
                    throw args.error(e.errno(), DIRTY_LOG + ": log device: " + withoutPrefix(e));
                }
                String regionWord = params.next("region size");
                Tail tail = tail(args, params);
                long region = regionSize(context, args, regionWord);
                long need = DiskLogFormat.bufferBytes(regionCount(context.lengthSectors(), region), device.logicalBlockBytes());
                if (need > device.sizeSectors() * Bio.SECTOR_BYTES)
                    throw logError(args, "log device " + TableLine.escape(device.reference()) + " too small: need " + need + " bytes");
                yield new LogSpec.Disk(device, region, tail.sync, tail.blockOnError);
            }
            default -> throw logError(args, "Module for logging type \"" + abbreviate(type) + "\" not found.");
        };
    }

    private record Tail(LogSpec.SyncMode sync, boolean blockOnError) {}

    /** {@code [sync|nosync] [block_on_error]} after the region size: what remains of {@code params}. */
    private static Tail tail(TableArgs args, TableArgs params) {
        LogSpec.SyncMode sync = LogSpec.SyncMode.DEFAULT;
        boolean block = false;
        for (int i = 0; params.hasNext(); i++) {
            boolean last = params.remaining() == 1;
            String w = params.next("log argument");
            if (i == 0 && w.equals("sync")) sync = LogSpec.SyncMode.SYNC;
            else if (i == 0 && w.equals("nosync")) sync = LogSpec.SyncMode.NOSYNC;
            else if (last && w.equals("block_on_error")) block = true;
            else throw logError(args, "unrecognised sync argument to dirty region log: " + abbreviate(w));
        }
        return new Tail(sync, block);
    }

    private static long regionSize(TargetContext context, TableArgs args, String word) {
        long size = TableLine.parseUnsigned(word);
        if (size < 2 || size > 0xFFFF_FFFFL || size > context.lengthSectors() || Long.bitCount(size) != 1)
            throw logError(args, "invalid region size " + abbreviate(word));
        long regions = regionCount(context.lengthSectors(), size);
        if (regions > 0xFFFF_FFFFL) throw logError(args, "region count exceeds limit of 4294967295");
        if (regions > MAX_REGIONS)
            throw logError(args, "region size " + size + " makes " + regions + " regions, more than the " + MAX_REGIONS
                    + " ddmapper keeps bitmaps for; use a region size of at least " + minRegion(context.lengthSectors()));
        return size;
    }

    /** The smallest power-of-two region size that keeps a target within MAX_REGIONS. */
    private static long minRegion(long lengthSectors) {
        long size = 2;
        while (regionCount(lengthSectors, size) > MAX_REGIONS) size <<= 1;
        return size;
    }

    static long regionCount(long lengthSectors, long regionSectors) {
        return (lengthSectors + regionSectors - 1) / regionSectors;
    }

    private static boolean[] parseFeatures(TableArgs args) {
        boolean handle = false;
        boolean keep = false;
        if (!args.hasNext()) return new boolean[] {false, false};
        long n = TableLine.parseUnsigned(args.next("number of features"));
        if (n < 0 || n > 0xFFFF_FFFFL) throw args.error("Invalid number of features");
        if (n > args.remaining()) throw args.error("Not enough arguments to support feature count");
        for (int i = 0; i < n; i++) {
            switch (args.next("feature")) {
                case "handle_errors" -> handle = true;
                case "keep_log" -> keep = true;
                default -> throw args.error("Unrecognised feature requested");
            }
        }
        if (keep && !handle) throw args.error("keep_log feature requires the handle_errors feature");
        return new boolean[] {handle, keep};
    }

    private static TableException logError(TableArgs args, String reason) {
        return args.error(DIRTY_LOG + ": " + reason);
    }

    /** A TableException's message without the "mirror: " its cursor put in front. */
    private static String withoutPrefix(TableException e) {
        String m = e.getMessage();
        return m.startsWith(TYPE + ": ") ? m.substring(TYPE.length() + 2) : m;
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }
}
