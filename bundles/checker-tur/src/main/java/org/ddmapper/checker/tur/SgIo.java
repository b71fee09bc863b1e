package org.ddmapper.checker.tur;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The SG_IO ioctl through JNA (Java has none): opens a device node, sends one CDB with no data
 * and returns the raw outcome. The {@code sg_io_hdr} is laid out by hand for LP64 Linux.
 */
final class SgIo {
    static final int SG_IO = 0x2285;
    static final int O_RDONLY = 0;
    static final int O_NONBLOCK = 0x800;
    static final int SG_DXFER_NONE = -1;
    static final int EINVAL = 22;
    static final int ENOTTY = 25;
    private static final int HDR_BYTES = 88;
    private static final int SENSE_BYTES = 32;

    /** The outcome of one command; {@code errno} is 0 when the ioctl itself succeeded. */
    record Result(int errno, int status, int hostStatus, int driverStatus, byte[] sense, int senseLength) {}

    private static final class LibC {
        static {
            Native.register("c");
        }

        static native int open(String path, int flags) throws LastErrorException;

        static native int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }

    private SgIo() {}

    /** Sends a no-data command; throws LastErrorException when the node cannot be opened. */
    static Result send(String devicePath, byte[] cdb, int timeoutMillis) {
        int fd = LibC.open(devicePath, O_RDONLY | O_NONBLOCK);
        try (Memory hdr = new Memory(HDR_BYTES); Memory cmd = new Memory(cdb.length); Memory sense = new Memory(SENSE_BYTES)) {
            hdr.clear();
            sense.clear();
            cmd.write(0, cdb, 0, cdb.length);
            hdr.setInt(0, 'S');
            hdr.setInt(4, SG_DXFER_NONE);
            hdr.setByte(8, (byte) cdb.length);
            hdr.setByte(9, (byte) SENSE_BYTES);
            hdr.setPointer(24, cmd);
            hdr.setPointer(32, sense);
            hdr.setInt(40, timeoutMillis);
            try {
                LibC.ioctl(fd, new NativeLong(SG_IO), hdr);
            } catch (LastErrorException e) {
                return new Result(e.getErrorCode(), 0, 0, 0, new byte[0], 0);
            }
            int senseLength = hdr.getByte(67) & 0xff;
            return new Result(0, hdr.getByte(65) & 0xff, hdr.getShort(68) & 0xffff, hdr.getShort(70) & 0xffff,
                    sense.getByteArray(0, SENSE_BYTES), Math.min(senseLength, SENSE_BYTES));
        } finally {
            try {
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // nothing to do about a failed close of a read-only node
            }
        }
    }
}
