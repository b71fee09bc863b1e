package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.tinylog.Logger;

/**
 * The answer to NBD_CMD_BLOCK_STATUS for base:allocation: the device's allocation of the
 * request's sectors as descriptors — a hole that reads as zeros is HOLE|ZERO, data is 0 — and the
 * structured reply chunk that carries them. Descriptors are clipped to the request, so none
 * reaches past its end (REQ_ONE requires that, older clients expect it) and each fits the 32-bit
 * length; with REQ_ONE only the first; at most {@link #MAX_DESCRIPTORS} (the chunk must fit an
 * output header). An answer may cover less than the request (the device's run limit): the client
 * asks again from where it ends. The query runs on the server's query pool, never on the reader.
 */
public final class BlockStatusReply {
    /** Most descriptors in one reply: its header must fit an output header. */
    public static final int MAX_DESCRIPTORS = (OutputQueue.MAX_HEADER_BYTES - 24) / 8;

    private BlockStatusReply() {
    }

    /**
     * Asks the device for the allocation of bytes [offset, end) and returns the descriptors (query
     * pool thread); a failure is a {@link DmException} with its reason.
     */
    static int[] query(DeviceManager.OpenDevice device, String deviceName, long offset, long end, boolean reqOne) {
        try {
            long first = offset >>> Bio.SECTOR_SHIFT;
            long last = (end + Bio.SECTOR_BYTES - 1) >>> Bio.SECTOR_SHIFT;
            int[] descriptors = descriptors(device.allocation(first, last - first), offset, end, reqOne);
            if (descriptors.length == 0) throw new DmException(Errno.EIO, "the device answered no run within the request");
            return descriptors;
        } catch (DmException e) {
            throw e;
        } catch (RuntimeException e) {
            Logger.warn(e, "nbd: device {} failed an allocation query", deviceName);
            throw new DmException(Errno.EIO, e.toString());
        }
    }

    /**
     * The runs within bytes [offset, end) as {length, status flags} pairs, in turn: clipped to the
     * range, runs outside it skipped, one pair with {@code reqOne}.
     */
    public static int[] descriptors(List<Extent> runs, long offset, long end, boolean reqOne) {
        int max = reqOne ? 1 : MAX_DESCRIPTORS;
        int[] descriptors = new int[2 * Math.min(runs.size(), max)];
        int n = 0;
        for (Extent e : runs) {
            long from = Math.max(offset, e.startSector() << Bio.SECTOR_SHIFT);
            long to = Math.min(end, e.endSector() << Bio.SECTOR_SHIFT);
            if (to <= from) continue;
            descriptors[2 * n] = (int) (to - from);
            descriptors[2 * n + 1] = e.kind() == Extent.Kind.HOLE ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0;
            if (++n == max) break;
        }
        return Arrays.copyOf(descriptors, 2 * n);
    }

    /** Bytes of the reply chunk for these descriptors. */
    static int headerBytes(int[] descriptors) {
        return 24 + 4 * descriptors.length;
    }

    /** Puts the reply chunk: structured header, the base:allocation context id, the descriptors. */
    public static void encode(ByteBuffer b, long cookie, int[] descriptors) {
        b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE)
                .putShort((short) Nbd.REPLY_TYPE_BLOCK_STATUS).putLong(cookie).putInt(4 + 4 * descriptors.length)
                .putInt(Nbd.CONTEXT_BASE_ALLOCATION_ID);
        for (int v : descriptors) b.putInt(v);
    }
}
