package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.RequestCheck;
import org.ddmapper.nbd.internal.RequestCheck.Refusal;
import org.ddmapper.nbd.internal.RequestHeader;
import org.ddmapper.nbd.internal.Session;
import org.junit.jupiter.api.Test;

/** The transmission request check on its own, no socket: each refusal with its error and sentence, and what passes. */
class RequestCheckTest {
    static final long SIZE = 16 << 20;
    static final int MAX = Nbd.MAX_PAYLOAD_BYTES;
    static final int WRITABLE = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
            | Nbd.FLAG_SEND_WRITE_ZEROES;

    /** A session as a handshake would agree it (no device: the check never touches one). */
    static Session session(int flags, int minBlock, boolean structured, boolean baseAllocation) {
        return new Session("disk", null, SIZE, flags, minBlock, 512, structured, baseAllocation, null);
    }

    static final Session PLAIN = session(WRITABLE, 512, false, false);
    static final Session STRUCTURED = session(WRITABLE | Nbd.FLAG_SEND_DF, 512, true, true);

    static Refusal check(Session s, int flags, int type, long offset, long length) {
        return RequestCheck.check(new RequestHeader(flags, type, 7, offset, length), s, MAX, null);
    }

    static void refused(Refusal r, int error, String reason) {
        assertEquals(new Refusal(error, reason), r);
    }

    @Test
    void validRequestsPass() {
        assertNull(check(PLAIN, 0, Nbd.CMD_READ, 0, 4096));
        assertNull(check(PLAIN, Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, SIZE - (1 << 20), 1 << 20), "up to the end");
        assertNull(check(PLAIN, 0, Nbd.CMD_FLUSH, 0, 0));
        assertNull(check(PLAIN, Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE_ZEROES, 512, 1024));
        assertNull(check(PLAIN, 0, Nbd.CMD_CACHE, 0, 0), "a zero-length request is answered, not refused");
        assertNull(check(STRUCTURED, Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 0, 512));
        assertNull(check(STRUCTURED, Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 0, 512));
        Session big = new Session("big", null, 8L << 30, WRITABLE, 512, 512, false, false, null);
        assertNull(RequestCheck.check(new RequestHeader(0, Nbd.CMD_WRITE, 1, 512, MAX), big, MAX, null), "the maximum");
        assertNull(RequestCheck.check(new RequestHeader(0, Nbd.CMD_TRIM, 1, 0, 0xFFFFFE00L), big, MAX, null),
                "TRIM is not capped by the maximum block size");
        assertNull(check(session(WRITABLE, 1, false, false), 0, Nbd.CMD_WRITE, 1, 3), "any alignment when the minimum is 1");
    }

    @Test
    void commandsAndFlags() {
        refused(check(PLAIN, 0, 42, 0, 0), Nbd.EINVAL, "unknown command 42");
        refused(check(PLAIN, 0, 0xFFFF, 0, 0), Nbd.EINVAL, "unknown command 65535");
        refused(check(PLAIN, 0x8000, Nbd.CMD_READ, 0, 512), Nbd.EINVAL, "flags 0x8000 are not valid on READ");
        refused(check(PLAIN, Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 0, 512), Nbd.EINVAL, "flags 0x4 are not valid on READ");
        refused(check(STRUCTURED, Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_READ, 0, 512), Nbd.EINVAL, "flags 0x8 are not valid on READ");
        refused(check(PLAIN, Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE, 0, 512), Nbd.EINVAL, "flags 0x2 are not valid on WRITE");
        refused(check(PLAIN, Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_TRIM, 0, 512), Nbd.EINVAL, "flags 0x10 are not valid on TRIM");
        Session noFua = session(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH, 512, false, false);
        refused(check(noFua, Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 0, 512), Nbd.EINVAL, "flags 0x1 are not valid on WRITE");
        refused(check(PLAIN, 0, Nbd.CMD_FLUSH, 0, 512), Nbd.EINVAL, "FLUSH must have offset and length 0");
        refused(check(PLAIN, 0, Nbd.CMD_BLOCK_STATUS, 0, 512), Nbd.EINVAL,
                "BLOCK_STATUS needs the base:allocation context (NBD_OPT_SET_META_CONTEXT)");
        refused(check(STRUCTURED, 0, Nbd.CMD_BLOCK_STATUS, 0, 0), Nbd.EINVAL, "BLOCK_STATUS of length 0");
    }

    @Test
    void rangesAndTheExport() {
        Session ro = new Session("ro", null, SIZE, Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_READ_ONLY, 512, 512, false, false, null);
        for (int type : new int[] {Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES})
            refused(RequestCheck.check(new RequestHeader(0, type, 1, 0, 512), ro, MAX, null), Nbd.EPERM, "export 'ro' is read-only");
        assertNull(RequestCheck.check(new RequestHeader(0, Nbd.CMD_READ, 1, 0, 512), ro, MAX, null));
        refused(check(PLAIN, 0, Nbd.CMD_READ, 0, MAX + 1L), Nbd.EINVAL, "READ of 33554433 bytes exceeds the maximum block size 33554432");
        refused(check(PLAIN, 0, Nbd.CMD_WRITE, 0, 0xFFFFFFFFL), Nbd.EINVAL,
                "WRITE of 4294967295 bytes exceeds the maximum block size 33554432");
        refused(check(PLAIN, 0, Nbd.CMD_WRITE, 0, 1000), Nbd.EINVAL,
                "WRITE at offset 0 length 1000 is not aligned to the minimum block size 512");
        refused(check(PLAIN, 0, Nbd.CMD_READ, -512L, 1024), Nbd.EINVAL, "READ: offset 18446744073709551104 + length 1024 overflows");
        refused(check(PLAIN, 0, Nbd.CMD_READ, SIZE - 4096, 8192), Nbd.EINVAL,
                "READ at offset 16773120 length 8192 is beyond the end of the export (16777216 bytes)");
        refused(check(PLAIN, 0, Nbd.CMD_WRITE, SIZE, 512), Nbd.ENOSPC,
                "WRITE at offset 16777216 length 512 is beyond the end of the export (16777216 bytes)");
        refused(check(PLAIN, 0, Nbd.CMD_WRITE_ZEROES, SIZE, 512), Nbd.ENOSPC,
                "WRITE_ZEROES at offset 16777216 length 512 is beyond the end of the export (16777216 bytes)");
    }

    @Test
    void aClosingConnectionRefusesWithItsReasonAllButFlush() {
        String why = "the server is stopping";
        refused(RequestCheck.check(new RequestHeader(0, Nbd.CMD_WRITE, 1, 0, 512), PLAIN, MAX, why), Nbd.ESHUTDOWN, why);
        refused(RequestCheck.check(new RequestHeader(0, Nbd.CMD_READ, 1, 0, 512), PLAIN, MAX, why), Nbd.ESHUTDOWN, why);
        assertNull(RequestCheck.check(new RequestHeader(0, Nbd.CMD_FLUSH, 1, 0, 0), PLAIN, MAX, why));
        refused(RequestCheck.check(new RequestHeader(0, 42, 1, 0, 0), PLAIN, MAX, why), Nbd.EINVAL, "unknown command 42");
    }
}
