package org.ddmapper.targets.fault.logwrites;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a log in the kernel's dm-log-writes format (see {@link LogFormat}) from a file or block
 * device: the super, then each entry's header, position and mark, and on demand its data. Whatever
 * the bytes, reading either succeeds or throws {@link LogFormatException} naming the entry and what
 * is wrong (a reader of outside input: a log may come from the kernel, a crash, or be damaged).
 * Entries are read up to the super's count, as replay tools do.
 */
public final class LogReader implements AutoCloseable {
    /** Largest block size accepted (the kernel's logical block sizes go to 4096; room for more). */
    public static final int MAX_BLOCK_BYTES = 64 * 1024;

    /** One entry: its number (0-based), where its block starts in the log (bytes), its header and mark. */
    public record Entry(long index, long logOffset, LogFormat.EntryHeader header, String mark, int blockBytes) {
        public boolean has(long flag) { return header.has(flag); }

        /** First 512-byte sector of the data device it covers. */
        public long sector() { return header.block() * (blockBytes / 512); }

        /** Its length in 512-byte sectors. */
        public long lengthSectors() { return header.blocks() * (blockBytes / 512); }

        /** Where its data starts in the log (bytes). */
        public long dataOffset() { return logOffset + blockBytes; }

        @Override
        public String toString() {
            String what = has(LogFormat.MARK) ? "mark '" + mark + "'" : has(LogFormat.DISCARD) ? "discard"
                    : header.blocks() == 0 && has(LogFormat.FLUSH) ? "flush" : "write";
            return "#" + index + " " + what + (header.blocks() > 0 ? " " + sector() + "+" + lengthSectors() : "")
                    + (has(LogFormat.FUA) ? " fua" : "") + (has(LogFormat.FLUSH) && header.blocks() > 0 ? " flush" : "");
        }
    }

    /** A log that cannot be read as the format says; the message names where. */
    public static final class LogFormatException extends IOException {
        private static final long serialVersionUID = 1L;

        public LogFormatException(String message) { super(message); }
    }

    private final FileChannel channel;
    private final long size;
    private final int blockBytes;
    private final long count;

    private LogReader(FileChannel channel, long size, int blockBytes, long count) {
        this.channel = channel;
        this.size = size;
        this.blockBytes = blockBytes;
        this.count = count;
    }

    /** Opens a log and checks its super. */
    public static LogReader open(Path log) throws IOException {
        FileChannel channel = FileChannel.open(log, StandardOpenOption.READ);
        try {
            long size = channel.size();
            ByteBuffer sb = read(channel, 0, LogFormat.SUPER_BYTES, size, "the super");
            long magic = sb.getLong();
            if (magic != LogFormat.MAGIC) throw new LogFormatException("not a log-writes log: magic 0x" + Long.toHexString(magic));
            long version = sb.getLong();
            if (version != LogFormat.VERSION) throw new LogFormatException("log version " + Long.toUnsignedString(version) + ", expected 1");
            long count = sb.getLong();
            int blockBytes = sb.getInt();
            if (blockBytes < 512 || blockBytes > MAX_BLOCK_BYTES || Integer.bitCount(blockBytes) != 1)
                throw new LogFormatException("block size " + Integer.toUnsignedString(blockBytes) + " is not a power of two from 512 to "
                        + MAX_BLOCK_BYTES);
            if (count < 0 || count > size / blockBytes)
                throw new LogFormatException("the super counts " + Long.toUnsignedString(count) + " entries; a log of " + size
                        + " bytes holds at most " + size / blockBytes);
            return new LogReader(channel, size, blockBytes, count);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public int blockBytes() { return blockBytes; }

    /** Entries the super counts. */
    public long count() { return count; }

    /** Every entry the super counts, in log order, each checked (flags, mark length, data within the log). */
    public List<Entry> entries() throws IOException {
        List<Entry> out = new ArrayList<>();
        long at = blockBytes;
        for (long i = 0; i < count; i++) {
            ByteBuffer block = read(channel, at, blockBytes, size, "entry " + i);
            LogFormat.EntryHeader h = LogFormat.entryHeader(block);
            String where = "entry " + i + " at byte " + at + ": ";
            if ((h.flags() & ~LogFormat.KNOWN_FLAGS) != 0)
                throw new LogFormatException(where + "unknown flags 0x" + Long.toHexString(h.flags()));
            if (h.block() < 0 || h.blocks() < 0 || h.block() > Long.MAX_VALUE / blockBytes - h.blocks())
                throw new LogFormatException(where + "range " + Long.toUnsignedString(h.block()) + "+" + Long.toUnsignedString(h.blocks())
                        + " overflows");
            String mark = null;
            if (h.has(LogFormat.MARK)) {
                if (h.dataLength() < 0 || h.dataLength() > LogFormat.maxMarkBytes(blockBytes))
                    throw new LogFormatException(where + "mark of " + Long.toUnsignedString(h.dataLength()) + " bytes in a " + blockBytes
                            + "-byte block");
                mark = LogFormat.markText(block, h);
            }
            long next = at + blockBytes;
            long dataBytes = h.dataBlocks() * blockBytes;
            if (dataBytes > size - next)
                throw new LogFormatException(where + h.dataBlocks() + " blocks of data run past the end of the log (" + size + " bytes)");
            out.add(new Entry(i, at, h, mark, blockBytes));
            at = next + dataBytes;
        }
        return out;
    }

    /** The data an entry logged (empty for flushes, discards and marks). */
    public ByteBuffer data(Entry e) throws IOException {
        long bytes = e.header().dataBlocks() * blockBytes;
        if (bytes > Integer.MAX_VALUE) throw new LogFormatException("entry " + e.index() + ": " + bytes + " bytes of data in one entry");
        return read(channel, e.dataOffset(), (int) bytes, size, "the data of entry " + e.index());
    }

    private static ByteBuffer read(FileChannel channel, long at, int bytes, long size, String what) throws IOException {
        if (at > size || bytes > size - at) throw new LogFormatException(what + " at byte " + at + " runs past the end of the log (" + size + " bytes)");
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (channel.read(b, at + b.position()) < 0) throw new LogFormatException(what + ": the log ends early");
        }
        return b.flip();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
