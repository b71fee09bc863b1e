package org.ddmapper.checker.tur;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The SG_IO ioctl through JNA (Java has none): opens a device node, sends one CDB with no data
 * and returns the raw outcome. The {@code sg_io_hdr} is laid out by hand for LP64 Linux:
 *
 * <pre>
 *  0 int interface_id       4 int dxfer_direction    8 u8 cmd_len   9 u8 mx_sb_len
 * 10 u16 iovec_count       12 u32 dxfer_len         16 void *dxferp
 * 24 u8 *cmdp              32 void *sbp             40 u32 timeout 44 u32 flags
 * 48 int pack_id           56 void *usr_ptr
 * 64 u8 status             65 u8 masked_status      66 u8 msg_status  67 u8 sb_len_wr
 * 68 u16 host_status       70 u16 driver_status     72 int resid   76 u32 duration
 * 80 u32 info              (84..87 padding to the pointer alignment)
 * </pre>
 */
final class SgIo {
    static final int SG_IO = 0x2285;
    static final int O_RDONLY = 0;
    static final int O_NONBLOCK = 0x800;
    static final int SG_DXFER_NONE = -1;
    static final int EINVAL = 22;
    static final int ENOTTY = 25;
    static final int HDR_BYTES = 88;
    static final int SENSE_BYTES = 32;
    static final int OFF_STATUS = 64;
    static final int OFF_MASKED_STATUS = 65;
    static final int OFF_SB_LEN_WR = 67;
    static final int OFF_HOST_STATUS = 68;
    static final int OFF_DRIVER_STATUS = 70;
    static final int OFF_INFO = 80;
    /** {@code info & SG_INFO_OK_MASK}: 0 means nothing abnormal happened (SG_INFO_OK), 1 SG_INFO_CHECK. */
    static final int SG_INFO_OK_MASK = 0x1;

    /**
     * The outcome of one command; {@code errno} is 0 when the ioctl itself succeeded.
     * {@code status} is the full SCSI status byte (not the shifted {@code masked_status}).
     */
    record Result(int errno, int status, int hostStatus, int driverStatus, int info, byte[] sense, int senseLength) {
        static Result failed(int errno) { return new Result(errno, 0, 0, 0, 0, new byte[0], 0); }

        /** The kernel flagged something abnormal (status, host or driver status): {@code SG_INFO_CHECK}. */
        boolean check() { return (info & SG_INFO_OK_MASK) != 0; }
    }

    private static final class LibC {
        static {
            Native.register("c");
        }

        static native int open(String path, int flags) throws LastErrorException;

        static native int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }

    private SgIo() {}

    /**
     * Decodes a completed {@code sg_io_hdr} (the {@value #HDR_BYTES} bytes the kernel filled, in the
     * machine's byte order) and the sense buffer it points at; the sense length is the header's
     * {@code sb_len_wr}, capped at the buffer.
     */
    static Result decode(byte[] header, byte[] sense) {
        if (header.length < HDR_BYTES) throw new IllegalArgumentException("an sg_io_hdr has " + HDR_BYTES + " bytes, not " + header.length);
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.nativeOrder());
        int senseLength = Math.min(b.get(OFF_SB_LEN_WR) & 0xff, sense.length);
        return new Result(0, b.get(OFF_STATUS) & 0xff, b.getShort(OFF_HOST_STATUS) & 0xffff,
                b.getShort(OFF_DRIVER_STATUS) & 0xffff, b.getInt(OFF_INFO), sense.clone(), senseLength);
    }

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
                return Result.failed(e.getErrorCode());
            }
            return decode(hdr.getByteArray(0, HDR_BYTES), sense.getByteArray(0, SENSE_BYTES));
        } finally {
            try {
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // nothing to do about a failed close of a read-only node
            }
        }
    }
}
