package org.ddmapper.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * The client side of the newstyle handshake: NBD_OPT_GO asking for block sizes (falling back
 * to NBD_OPT_EXPORT_NAME for servers without GO). No structured replies: simple replies carry
 * read data with less framing, and the client needs nothing more.
 */
public final class ClientHandshake {
    private static final long OLDSTYLE_MAGIC = 0x00420281861253L;

    /** What the server told about the export. */
    public record Result(long sizeBytes, int flags, int minBlockBytes, int preferredBlockBytes, int maxBlockBytes) {
    }

    private ClientHandshake() {
    }

    /** Negotiates {@code export}; throws a {@link DmException} naming the reference on refusal. */
    public static Result run(Transport t, NbdUri uri, long deadlineNanos) throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        t.readFully(greeting, deadlineNanos);
        greeting.flip();
        if (greeting.getLong() != Nbd.INIT_MAGIC) throw refused(uri, Errno.EPROTO, "the peer is not an NBD server");
        long magic = greeting.getLong();
        if (magic == OLDSTYLE_MAGIC) throw refused(uri, Errno.EPROTO, "the server speaks the oldstyle protocol, which is not supported");
        if (magic != Nbd.OPTION_MAGIC) throw refused(uri, Errno.EPROTO, "bad handshake magic 0x" + Long.toHexString(magic));
        int serverFlags = Short.toUnsignedInt(greeting.getShort());
        boolean fixed = (serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) != 0;
        boolean noZeroes = (serverFlags & Nbd.FLAG_NO_ZEROES) != 0;
        ByteBuffer clientFlags = ByteBuffer.allocate(4);
        clientFlags.putInt((fixed ? Nbd.FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? Nbd.FLAG_C_NO_ZEROES : 0)).flip();
        t.writeFully(clientFlags, deadlineNanos);

        byte[] name = uri.export().getBytes(StandardCharsets.UTF_8);
        if (fixed) {
            ByteBuffer go = ByteBuffer.allocate(16 + 4 + name.length + 2 + 2);
            go.putLong(Nbd.OPTION_MAGIC).putInt(Nbd.OPT_GO).putInt(4 + name.length + 4)
                    .putInt(name.length).put(name).putShort((short) 1).putShort((short) Nbd.INFO_BLOCK_SIZE).flip();
            t.writeFully(go, deadlineNanos);
            long size = -1;
            int flags = 0, min = 0, preferred = 0, max = 0;
            ByteBuffer header = ByteBuffer.allocate(20);
            for (;;) {
                header.clear();
                t.readFully(header, deadlineNanos);
                if (header.getLong(0) != Nbd.OPTION_REPLY_MAGIC) throw refused(uri, Errno.EPROTO, "bad option reply magic");
                int type = header.getInt(12);
                long length = Integer.toUnsignedLong(header.getInt(16));
                if (length > 64 * 1024) throw refused(uri, Errno.EPROTO, "option reply of " + length + " bytes");
                ByteBuffer data = ByteBuffer.allocate((int) length);
                t.readFully(data, deadlineNanos);
                data.flip();
                if (type == Nbd.REP_ACK) break;
                if (type == Nbd.REP_INFO && length >= 2) {
                    int info = Short.toUnsignedInt(data.getShort());
                    if (info == Nbd.INFO_EXPORT && length == 12) {
                        size = data.getLong();
                        flags = Short.toUnsignedInt(data.getShort());
                    } else if (info == Nbd.INFO_BLOCK_SIZE && length == 14) {
                        min = data.getInt();
                        preferred = data.getInt();
                        max = data.getInt();
                    }
                    continue;
                }
                if (type == Nbd.REP_ERR_UNSUP) return exportName(t, uri, name, noZeroes, deadlineNanos);
                if (type < 0) {
                    String message = new String(data.array(), StandardCharsets.UTF_8);
                    Errno errno = type == Nbd.REP_ERR_UNKNOWN ? Errno.ENODEV : Errno.ECONNREFUSED;
                    throw refused(uri, errno, "the server refused export " + WireStrings.quote(uri.export())
                            + (message.isEmpty() ? "" : ": " + message));
                }
                // Any other reply type: ignore, as the specification asks of clients.
            }
            if (size < 0) throw refused(uri, Errno.EPROTO, "the server did not send NBD_INFO_EXPORT");
            return new Result(size, flags, min, preferred, max);
        }
        return exportName(t, uri, name, noZeroes, deadlineNanos);
    }

    private static Result exportName(Transport t, NbdUri uri, byte[] name, boolean noZeroes, long deadlineNanos)
            throws IOException {
        ByteBuffer option = ByteBuffer.allocate(16 + name.length);
        option.putLong(Nbd.OPTION_MAGIC).putInt(Nbd.OPT_EXPORT_NAME).putInt(name.length).put(name).flip();
        t.writeFully(option, deadlineNanos);
        ByteBuffer reply = ByteBuffer.allocate(noZeroes ? 10 : 134);
        try {
            t.readFully(reply, deadlineNanos);
        } catch (EOFException e) {
            throw refused(uri, Errno.ENODEV, "the server closed the connection: no export " + WireStrings.quote(uri.export()) + "?");
        }
        return new Result(reply.getLong(0), Short.toUnsignedInt(reply.getShort(8)), 0, 0, 0);
    }

    static DmException refused(NbdUri uri, Errno errno, String why) {
        return new DmException(errno, uri.reference() + ": " + why);
    }
}
