package org.ddmapper.targets.fault.logwrites;

import java.nio.ByteBuffer;
import org.ddmapper.api.Bio;

/**
 * One entry on its way to the log (the kernel's pending_block): flags, the range in 512-byte
 * sectors, and what follows the entry — a copy of the written data, nothing (a flush or discard),
 * zeros (a write-zeroes: {@code data} null with a range and no DISCARD flag) or a mark's text.
 */
record Pending(long flags, long sector, long lengthSectors, ByteBuffer data, byte[] mark) {

    static Pending write(long sector, long lengthSectors, ByteBuffer copy, boolean fua) {
        return new Pending(fua ? LogFormat.FUA : 0, sector, lengthSectors, copy, null);
    }

    /** A write-zeroes: logged as a write of zeros (the kernel logs its range and leaves the data area unwritten). */
    static Pending zeroes(long sector, long lengthSectors, boolean fua) {
        return new Pending(fua ? LogFormat.FUA : 0, sector, lengthSectors, null, null);
    }

    static Pending discard(long sector, long lengthSectors) {
        return new Pending(LogFormat.DISCARD, sector, lengthSectors, null, null);
    }

    static Pending flush() {
        return new Pending(LogFormat.FLUSH, 0, 0, null, null);
    }

    static Pending mark(byte[] text) {
        return new Pending(LogFormat.MARK, 0, 0, null, text);
    }

    boolean has(long flag) { return (flags & flag) != 0; }

    /** Bytes of data logged after the entry. */
    long dataBytes() { return has(LogFormat.DISCARD) || has(LogFormat.MARK) ? 0 : lengthSectors * Bio.SECTOR_BYTES; }

    /** Bytes this entry holds in memory until it is written (copied data only). */
    long heldBytes() { return data == null ? 0 : data.remaining(); }
}
