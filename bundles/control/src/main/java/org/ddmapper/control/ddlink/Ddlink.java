package org.ddmapper.control.ddlink;

/**
 * ddlink framing constants. Every item is {@code u32 op | u32 tag | u32 target-or-status |
 * u32 length | payload[length]}, little-endian, one item per SOCK_SEQPACKET write.
 */
public final class Ddlink {
    /** Protocol version in a VERSION reply; bumped only for incompatible changes. */
    public static final int PROTOCOL = 1;
    /** Bytes of the item header. */
    public static final int HEADER_BYTES = 16;
    /**
     * Largest item, header included: 192 KiB, which a SOCK_SEQPACKET socket with the default send
     * buffer (net.core.wmem_default 212992) carries, so a client needs no SO_SNDBUF tuning.
     */
    public static final int MAX_ITEM_BYTES = 192 * 1024;
    /** Largest payload. */
    public static final int MAX_PAYLOAD_BYTES = MAX_ITEM_BYTES - HEADER_BYTES;
    /** Most descriptors one MESSAGE may pass. */
    public static final int MAX_FDS = 4;

    /** SUSPEND: keep I/O a target queued for the next table. */
    public static final int FLAG_NOFLUSH = 1;
    /** REMOVE: remove even while open or holding I/O. */
    public static final int FLAG_FORCE = 1;
    /** TABLE: the inactive slot. */
    public static final int FLAG_INACTIVE = 1;
    /** MULTIPATH: the paths view ({@code multipathd show paths}) instead of the topology ({@code multipath -ll}). */
    public static final int FLAG_PATHS = 1;
    /** CLI: the caller's stdin is a terminal (a create with no table source then makes an empty device). */
    public static final int FLAG_STDIN_TERMINAL = 1;
    /** Bytes before the stdout text of a CLI reply: exit status, stdout length. */
    public static final int CLI_HEADER_BYTES = 8;
    /** MESSAGE target field: address the target by the sector in the payload instead of by index. */
    public static final int TARGET_BY_SECTOR = 0xFFFFFFFF;
    /** WAIT timeout: no limit. */
    public static final int WAIT_FOREVER = 0xFFFFFFFF;
    /** Bytes before the text of an EVENT payload: event_nr, device id, time, target index, reserved. */
    public static final int EVENT_HEADER_BYTES = 32;
    /** Bytes before the text of a VERSION reply: protocol, max item, max fds, reserved. */
    public static final int VERSION_HEADER_BYTES = 16;

    private Ddlink() {}
}
