package org.ddmapper.targets.mirror.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of a {@code disk} dirty-region log, byte for byte the kernel's dm-log
 * (drivers/md/dm-log.c, MIRROR_DISK_VERSION 2), plus one record of ddmapper's own in a sector
 * the kernel never looks at.
 *
 * <pre>
 * byte 0     le32 magic 0x4D695272 ("rRiM" on disk)   le32 version 2   le64 nr_regions
 * byte 512   ddmapper's stale-leg record (optional, see below); the kernel reads and writes
 *            this sector back unchanged, as every byte of its buffer past the header
 * byte 1024  the clean bitmap (LOG_OFFSET 2 sectors): bit r = region r is clean (in sync on every
 *            leg, no write in flight); round_up(nr_regions, 64) / 8 bytes, little-endian bits
 * </pre>
 *
 * The header, record and bitmap are read and written as one I/O of {@link #bufferBytes} (rounded up
 * to the log device's logical block).
 *
 * <p>Loading follows the kernel's disk_resume: a bad magic, or {@code sync}/{@code nosync} in the
 * table, makes a new log (no region known); version 1 is read as 2; any other version is an
 * incompatible log, which the mirror treats as a failed log device with every region out of sync;
 * regions past the header's count are clean with {@code nosync} and dirty otherwise, and bits past
 * the table's count in the last word are cleared.
 *
 * <p>The stale-leg record lists the legs (by a hash of their reference as the table writes it)
 * that missed writes while they were out of the mirror, so that whichever leg comes back first in
 * the next table, the resync never copies from one of them: {@code "DDMAPPER"}, le32 kind 1, le32
 * count (at most 9), count x le64 hash, le32 CRC32C of everything before it. A record whose magic,
 * kind, count or checksum does not hold is ignored, as if the sector were empty.
 */
final class DiskLogFormat {
    static final int MAGIC = 0x4D695272;
    static final int VERSION = 2;
    /** LOG_OFFSET: the bitmap starts 2 sectors in. */
    static final int BITMAP_OFFSET = 1024;
    static final int RECORD_OFFSET = 512;
    private static final byte[] RECORD_MAGIC = "DDMAPPER".getBytes(StandardCharsets.US_ASCII);
    private static final int RECORD_KIND_STALE_LEGS = 1;

    private DiskLogFormat() {}

    /** Bitmap bytes for {@code regions}: whole 64-bit words (the kernel's BITS_PER_LONG on 64-bit). */
    static long bitmapBytes(long regions) { return RegionBits.wordCount(regions) * 8; }

    /** The one I/O that holds header, record and bitmap, rounded up to the device's logical block. */
    static long bufferBytes(long regions, int logicalBlockBytes) {
        long raw = BITMAP_OFFSET + bitmapBytes(regions);
        long block = Math.max(512, logicalBlockBytes);
        return (raw + block - 1) / block * block;
    }

    /** How a read log turned out. */
    enum Outcome {
        /** A log of this format: its clean bits are taken (regions past its count per the sync mode). */
        LOADED,
        /** No log here (another magic) or the table asked for sync/nosync: a new log. */
        NEW,
        /** Magic right, version unknown: read as no log, and the log device counts as failed. */
        INCOMPATIBLE
    }

    /** What {@link #load} made of a buffer: the clean bits, the stale legs, and a sentence when it was not simply loaded. */
    record Loaded(Outcome outcome, RegionBits clean, List<Long> staleLegs, long headerRegions, String note) {}

    /**
     * Reads a log image of {@code regions} regions (the table's count) as the kernel's disk_resume
     * does. Never throws for any content: a buffer shorter than {@link #bufferBytes} is read as far
     * as it goes, the rest as zeros, and said so in the note.
     */
    static Loaded load(ByteBuffer image, long regions, LogSpec.SyncMode sync) {
        long need = BITMAP_OFFSET + bitmapBytes(regions);
        ByteBuffer buf = ByteBuffer.allocate((int) need).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer src = image.duplicate();
        int have = (int) Math.min(src.remaining(), need);
        src.limit(src.position() + have);
        buf.put(src).clear();
        String note = have < need ? "log image holds " + have + " bytes, " + need + " needed; the rest read as zeros" : null;

        int magic = buf.getInt(0);
        int version = buf.getInt(4);
        long headerRegions = buf.getLong(8);
        Outcome outcome = Outcome.LOADED;
        long known = headerRegions;
        if (sync != LogSpec.SyncMode.DEFAULT || magic != MAGIC) {
            outcome = Outcome.NEW;
            known = 0;
            if (magic != MAGIC) note = join(note, String.format("no log found (magic 0x%08x), a new one is made", magic));
        } else if (version != VERSION && version != 1) {
            outcome = Outcome.INCOMPATIBLE;
            known = 0;
            note = join(note, "incompatible disk log version " + Integer.toUnsignedString(version));
        }
        List<Long> stale = outcome == Outcome.LOADED || (magic == MAGIC && sync == LogSpec.SyncMode.SYNC)
                ? staleLegs(buf) : List.of();
        RegionBits clean = new RegionBits(regions);
        buf.position(BITMAP_OFFSET);
        clean.readFrom(buf);
        if (Long.compareUnsigned(known, regions) < 0) {
            boolean value = sync == LogSpec.SyncMode.NOSYNC;
            for (long r = known; r < regions; r++) {
                if (value) clean.set(r); else clean.clear(r);
            }
        }
        return new Loaded(outcome, clean, stale, headerRegions, note);
    }

    /**
     * Writes the header (with {@code regions}), the stale-leg record and the clean bitmap into
     * {@code buffer} (of at least {@link #bufferBytes}); bytes outside those fields keep what the
     * buffer held, as the kernel writes back what it read.
     */
    static void store(ByteBuffer buffer, long regions, List<Long> staleLegs, RegionBits clean) {
        ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putInt(4, VERSION).putLong(8, regions);
        writeRecord(b, staleLegs);
        b.position(BITMAP_OFFSET);
        clean.writeTo(b);
    }

    /** The legs listed stale in an image, or none when there is no valid record. */
    static List<Long> staleLegs(ByteBuffer image) {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < BITMAP_OFFSET) return List.of();
        for (int i = 0; i < RECORD_MAGIC.length; i++) if (b.get(RECORD_OFFSET + i) != RECORD_MAGIC[i]) return List.of();
        if (b.getInt(RECORD_OFFSET + 8) != RECORD_KIND_STALE_LEGS) return List.of();
        int count = b.getInt(RECORD_OFFSET + 12);
        if (count < 0 || count > MirrorTable.MAX_LEGS) return List.of();
        int end = RECORD_OFFSET + 16 + 8 * count;
        if (b.getInt(end) != crc(b, end)) return List.of();
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(b.getLong(RECORD_OFFSET + 16 + 8 * i));
        return List.copyOf(out);
    }

    private static void writeRecord(ByteBuffer b, List<Long> staleLegs) {
        if (staleLegs.isEmpty()) {
            // no record: an empty sector, unless another tool keeps something there that is not ours
            if (!staleLegs(b).isEmpty() || hasRecordMagic(b)) for (int i = RECORD_OFFSET; i < BITMAP_OFFSET; i++) b.put(i, (byte) 0);
            return;
        }
        if (staleLegs.size() > MirrorTable.MAX_LEGS) throw new IllegalArgumentException("at most " + MirrorTable.MAX_LEGS + " stale legs");
        for (int i = RECORD_OFFSET; i < BITMAP_OFFSET; i++) b.put(i, (byte) 0);
        for (int i = 0; i < RECORD_MAGIC.length; i++) b.put(RECORD_OFFSET + i, RECORD_MAGIC[i]);
        b.putInt(RECORD_OFFSET + 8, RECORD_KIND_STALE_LEGS);
        b.putInt(RECORD_OFFSET + 12, staleLegs.size());
        for (int i = 0; i < staleLegs.size(); i++) b.putLong(RECORD_OFFSET + 16 + 8 * i, staleLegs.get(i));
        int end = RECORD_OFFSET + 16 + 8 * staleLegs.size();
        b.putInt(end, crc(b, end));
    }

    private static boolean hasRecordMagic(ByteBuffer b) {
        for (int i = 0; i < RECORD_MAGIC.length; i++) if (b.get(RECORD_OFFSET + i) != RECORD_MAGIC[i]) return false;
        return true;
    }

    private static int crc(ByteBuffer b, int end) {
        CRC32C crc = new CRC32C();
        ByteBuffer part = b.duplicate();
        part.limit(end).position(RECORD_OFFSET);
        crc.update(part);
        return (int) crc.getValue();
    }

    /** A leg's identity in the record: the first 8 bytes of the SHA-256 of its reference, little-endian. */
    static long legHash(String reference) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(reference.getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(d, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static String join(String a, String b) {
        return a == null ? b : a + "; " + b;
    }
}
