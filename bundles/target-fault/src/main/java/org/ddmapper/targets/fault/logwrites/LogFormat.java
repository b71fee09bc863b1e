package org.ddmapper.targets.fault.logwrites;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The on-disk format of the kernel's dm-log-writes (drivers/md/dm-log-writes.c, log version 1),
 * which xfstests' replay-log reads. Everything is little-endian and counted in "blocks" of the
 * data device's logical block size ({@code blockBytes}, 512 or more):
 *
 * <pre>
 * block 0        super: u64 magic 0x6a736677736872 | u64 version 1 | u64 nr_entries | u32 block size | zeros
 * then, nr_entries times:
 *   1 block      entry: u64 sector | u64 nr_sectors | u64 flags | u64 data_len | mark text (MARK only) | zeros
 *   nr_sectors   the data written (none for FLUSH, DISCARD and MARK entries)
 * </pre>
 * {@code sector} and {@code nr_sectors} count blocks of the data device. Flags: FLUSH 1, FUA 2,
 * DISCARD 4, MARK 8, METADATA 16. A mark's {@code data_len} is its text's length (no NUL), at most
 * {@code blockBytes - 33}. The super's nr_entries is rewritten after every FUA or MARK entry (not
 * after each entry), so a log read while being written may hold more entries than it says.
 */
public final class LogFormat {
    public static final long MAGIC = 0x6a736677736872L;
    public static final long VERSION = 1;
    /** Bytes of an entry's header, before a mark's text. */
    public static final int ENTRY_HEADER_BYTES = 32;
    /** Bytes of the super's fields. */
    public static final int SUPER_BYTES = 28;

    public static final long FLUSH = 1;
    public static final long FUA = 1 << 1;
    public static final long DISCARD = 1 << 2;
    public static final long MARK = 1 << 3;
    public static final long METADATA = 1 << 4;
    /** Every flag the format defines. */
    public static final long KNOWN_FLAGS = FLUSH | FUA | DISCARD | MARK | METADATA;

    private LogFormat() {}

    /** An entry's header. {@code block} and {@code blocks} count blocks of the data device. */
    public record EntryHeader(long block, long blocks, long flags, long dataLength) {
        public boolean has(long flag) { return (flags & flag) != 0; }

        /** Blocks of data that follow the entry in the log. */
        public long dataBlocks() { return has(DISCARD) || has(MARK) ? 0 : blocks; }
    }

    /** The longest mark text a log of this block size keeps (the kernel truncates to it). */
    public static int maxMarkBytes(int blockBytes) {
        return blockBytes - ENTRY_HEADER_BYTES - 1;
    }

    /** The super block. */
    public static ByteBuffer superBlock(long entries, int blockBytes) {
        ByteBuffer b = block(blockBytes);
        b.putLong(MAGIC).putLong(VERSION).putLong(entries).putInt(blockBytes);
        return b.clear();
    }

    /** An entry block; {@code mark} is the text of a MARK entry (already truncated), else null. */
    public static ByteBuffer entryBlock(EntryHeader h, byte[] mark, int blockBytes) {
        ByteBuffer b = block(blockBytes);
        b.putLong(h.block()).putLong(h.blocks()).putLong(h.flags()).putLong(h.dataLength());
        if (mark != null) b.put(mark);
        return b.clear();
    }

    /** Reads an entry header from the start of an entry block. */
    public static EntryHeader entryHeader(ByteBuffer block) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new EntryHeader(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    }

    /** A mark's text from its entry block. */
    public static String markText(ByteBuffer block, EntryHeader h) {
        byte[] text = new byte[(int) h.dataLength()];
        block.duplicate().position(ENTRY_HEADER_BYTES).get(text);
        return new String(text, StandardCharsets.UTF_8);
    }

    private static ByteBuffer block(int blockBytes) {
        return ByteBuffer.allocate(blockBytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
