package org.ddmapper.nbd.internal;

import org.ddmapper.api.Errno;

/**
 * The NBD protocol's numbers (newstyle fixed handshake, simple and structured replies), as the
 * specification (doc/proto.md of the NBD project) defines them. Everything on the wire is
 * big-endian, which is also the byte order of a fresh {@link java.nio.ByteBuffer}.
 */
public final class Nbd {
    private Nbd() {
    }

    /** The IANA port. */
    public static final int DEFAULT_PORT = 10809;

    // Magic numbers.
    /** "NBDMAGIC": the first eight bytes the server sends. */
    public static final long INIT_MAGIC = 0x4e42444d41474943L;
    /** "IHAVEOPT": the server's second magic, and the magic of every option request. */
    public static final long OPTION_MAGIC = 0x49484156454F5054L;
    /** Magic of an option reply. */
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // Handshake flags (server) and client flags.
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 2;
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 2;

    // Transmission flags.
    public static final int FLAG_HAS_FLAGS = 1;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_RESIZE = 1 << 9;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

    // Options.
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;
    public static final int OPT_EXTENDED_HEADERS = 11;

    // Option replies.
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_PLATFORM = 0x80000004;
    public static final int REP_ERR_TLS_REQD = 0x80000005;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    // Information types of NBD_OPT_INFO / NBD_OPT_GO.
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // Commands.
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // Command flags.
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // Structured reply flags and chunk types.
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;
    public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;

    // Error values allowed on the wire.
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    /** The one metadata context we serve, and its id on every connection. */
    public static final String CONTEXT_BASE_ALLOCATION = "base:allocation";
    public static final int CONTEXT_BASE_ALLOCATION_ID = 1;
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 2;

    /** Longest string (export name, error message) the specification allows, in bytes. */
    public static final int MAX_STRING_BYTES = 4096;
    /** The largest read or write payload every client must be able to use (2^25). */
    public static final int MAX_PAYLOAD_BYTES = 32 << 20;

    /** An errno of ours as one of the error values the protocol allows. */
    public static int wireError(Errno errno) {
        return switch (errno) {
            case EPERM, EROFS, EACCES -> EPERM;
            case ENOSPC -> ENOSPC;
            case EINVAL, ERANGE, E2BIG, EMSGSIZE -> EINVAL;
            case EOVERFLOW -> EOVERFLOW;
            case EOPNOTSUPP, ENOSYS -> ENOTSUP;
            case ESHUTDOWN, ENODEV, ENXIO -> ESHUTDOWN;
            case ENOMEM -> ENOMEM;
            default -> EIO;
        };
    }

    /** A protocol error value as one of our errnos (unknown values read as EINVAL, as the specification says). */
    public static Errno errnoOf(int wireError) {
        return switch (wireError) {
            case EPERM -> Errno.EPERM;
            case EIO -> Errno.EIO;
            case ENOMEM -> Errno.ENOMEM;
            case EINVAL -> Errno.EINVAL;
            case ENOSPC -> Errno.ENOSPC;
            case EOVERFLOW -> Errno.EOVERFLOW;
            case ENOTSUP -> Errno.EOPNOTSUPP;
            case ESHUTDOWN -> Errno.ESHUTDOWN;
            default -> Errno.EINVAL;
        };
    }

    /** A command's name for messages. */
    public static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "READ";
            case CMD_WRITE -> "WRITE";
            case CMD_DISC -> "DISC";
            case CMD_FLUSH -> "FLUSH";
            case CMD_TRIM -> "TRIM";
            case CMD_CACHE -> "CACHE";
            case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            default -> "command " + type;
        };
    }

    /** An option's name for messages. */
    public static String optionName(int option) {
        return switch (option) {
            case OPT_EXPORT_NAME -> "NBD_OPT_EXPORT_NAME";
            case OPT_ABORT -> "NBD_OPT_ABORT";
            case OPT_LIST -> "NBD_OPT_LIST";
            case OPT_STARTTLS -> "NBD_OPT_STARTTLS";
            case OPT_INFO -> "NBD_OPT_INFO";
            case OPT_GO -> "NBD_OPT_GO";
            case OPT_STRUCTURED_REPLY -> "NBD_OPT_STRUCTURED_REPLY";
            case OPT_LIST_META_CONTEXT -> "NBD_OPT_LIST_META_CONTEXT";
            case OPT_SET_META_CONTEXT -> "NBD_OPT_SET_META_CONTEXT";
            case OPT_EXTENDED_HEADERS -> "NBD_OPT_EXTENDED_HEADERS";
            default -> "option " + Integer.toUnsignedString(option);
        };
    }
}
