package org.ddmapper.nbd.internal;

/**
 * Whether a transmission request may run, decided from its header and what the handshake agreed
 * alone — no socket, no device — as nbdkit's {@code validate_request} does: the command known, its
 * flags valid for it, FLUSH without a range, BLOCK_STATUS only with base:allocation, no writes to a
 * read-only export, the payload within the maximum block size, the range aligned to the agreed
 * minimum block, inside the export and not wrapping. A refusal carries the error the specification
 * asks for and a sentence naming what was wrong; a closing connection refuses every valid request
 * but a FLUSH with ESHUTDOWN and its reason (a FLUSH only makes durable what is already written).
 */
public final class RequestCheck {

    /** A refused request: the error on the wire ({@link Nbd}'s values) and why. */
    public record Refusal(int wireError, String reason) {
    }

    private RequestCheck() {
    }

    /**
     * Null when the request may run; otherwise its refusal. {@code closingReason} is non-null
     * while the connection is closing.
     */
    public static Refusal check(RequestHeader h, Session session, int maxPayloadBytes, String closingReason) {
        int type = h.type();
        long offset = h.offset();
        long length = h.length();
        String cmd = Nbd.commandName(type);
        int allowed;
        switch (type) {
            case Nbd.CMD_READ -> allowed = session.structured() ? Nbd.CMD_FLAG_DF : 0;
            case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> allowed = 0;
            case Nbd.CMD_WRITE_ZEROES -> allowed = Nbd.CMD_FLAG_NO_HOLE;
            case Nbd.CMD_BLOCK_STATUS -> allowed = Nbd.CMD_FLAG_REQ_ONE;
            default -> {
                return new Refusal(Nbd.EINVAL, "unknown command " + type);
            }
        }
        if ((session.flags() & Nbd.FLAG_SEND_FUA) != 0) allowed |= Nbd.CMD_FLAG_FUA;
        if ((h.flags() & ~allowed) != 0)
            return new Refusal(Nbd.EINVAL, "flags 0x" + Integer.toHexString(h.flags() & ~allowed) + " are not valid on " + cmd);
        if (type == Nbd.CMD_FLUSH) {
            if (offset != 0 || length != 0) return new Refusal(Nbd.EINVAL, "FLUSH must have offset and length 0");
            return null;
        }
        if (type == Nbd.CMD_BLOCK_STATUS && !session.baseAllocation())
            return new Refusal(Nbd.EINVAL, "BLOCK_STATUS needs the base:allocation context (NBD_OPT_SET_META_CONTEXT)");
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
        if (writes && session.readOnly())
            return new Refusal(Nbd.EPERM, "export " + WireStrings.quote(session.name()) + " is read-only");
        boolean capped = type == Nbd.CMD_READ || type == Nbd.CMD_WRITE || type == Nbd.CMD_CACHE || type == Nbd.CMD_WRITE_ZEROES;
        if (capped && length > maxPayloadBytes)
            return new Refusal(Nbd.EINVAL, cmd + " of " + length + " bytes exceeds the maximum block size " + maxPayloadBytes);
        int align = session.minBlockBytes();
        if ((offset & (align - 1)) != 0 || (length & (align - 1)) != 0)
            return new Refusal(Nbd.EINVAL, cmd + " at offset " + Long.toUnsignedString(offset) + " length " + length
                    + " is not aligned to the minimum block size " + align);
        long end = offset + length;
        if (Long.compareUnsigned(end, offset) < 0)
            return new Refusal(Nbd.EINVAL, cmd + ": offset " + Long.toUnsignedString(offset) + " + length " + length + " overflows");
        if (Long.compareUnsigned(end, session.sizeBytes()) > 0) {
            int error = type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
            return new Refusal(error, cmd + " at offset " + Long.toUnsignedString(offset) + " length " + length
                    + " is beyond the end of the export (" + session.sizeBytes() + " bytes)");
        }
        if (type == Nbd.CMD_BLOCK_STATUS && length == 0) return new Refusal(Nbd.EINVAL, "BLOCK_STATUS of length 0");
        return closingReason == null ? null : new Refusal(Nbd.ESHUTDOWN, closingReason);
    }
}
