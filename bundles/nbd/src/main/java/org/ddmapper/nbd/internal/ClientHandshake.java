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

    /** The export and the transport to use from now on (TLS over the socket for nbds references). */
    public record Negotiated(Transport transport, Result result) {
    }

    private ClientHandshake() {
    }

    /** Negotiates {@code export} in plain text; throws a {@link DmException} naming the reference on refusal. */
    public static Result run(Transport t, NbdUri uri, long deadlineNanos) throws IOException {
        return negotiate(t, uri, null, deadlineNanos).result();
    }

    /**
     * Negotiates {@code export}, first switching to TLS with NBD_OPT_STARTTLS when the reference
     * is {@code nbds} ({@code tls} gives the credentials). A server that does not offer TLS, or a
     * TLS handshake that fails (a certificate the CA did not sign, a name that does not match),
     * is a {@link DmException} with the reason.
     */
    public static Negotiated negotiate(Transport t, NbdUri uri, ClientTls tls, long deadlineNanos) throws IOException {
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
        if (uri.tls()) {
            if (!fixed) throw refused(uri, Errno.EPROTO, "the server does not speak the fixed newstyle handshake, so no TLS");
            t = startTls(t, uri, tls == null ? new ClientTls(null) : tls, deadlineNanos);
            try {
                return options(t, uri, fixed, noZeroes, deadlineNanos);
            } catch (EOFException e) {
                // TLS 1.3: the client is done before the server has checked its certificate
                throw refused(uri, Errno.EACCES, "the server closed the connection once TLS was on (does it want a"
                        + " client certificate the directory lacks, or one its CA signed?)");
            }
        }
        return options(t, uri, fixed, noZeroes, deadlineNanos);
    }

    private static Negotiated options(Transport t, NbdUri uri, boolean fixed, boolean noZeroes, long deadlineNanos)
            throws IOException {

        byte[] name = uri.export().getBytes(StandardCharsets.UTF_8);
        if (fixed) {
            ByteBuffer go = ByteBuffer.allocate(16 + 4 + name.length + 2 + 2);
            go.putLong(Nbd.OPTION_MAGIC).putInt(Nbd.OPT_GO).putInt(4 + name.length + 4)
                    .putInt(name.length).put(name).putShort((short) 1).putShort((short) Nbd.INFO_BLOCK_SIZE).flip();
            t.writeFully(go, deadlineNanos);
            long size = -1;
            int flags = 0, min = 0, preferred = 0, max = 0;
            for (;;) {
                OptionReply reply = optionReply(t, uri, deadlineNanos);
                int type = reply.type();
                ByteBuffer data = reply.data();
                int length = data.remaining();
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
                if (type == Nbd.REP_ERR_UNSUP) return new Negotiated(t, exportName(t, uri, name, noZeroes, deadlineNanos));
                if (type < 0) {
                    String message = new String(data.array(), StandardCharsets.UTF_8);
                    Errno errno = type == Nbd.REP_ERR_UNKNOWN ? Errno.ENODEV : Errno.ECONNREFUSED;
                    if (type == Nbd.REP_ERR_TLS_REQD)
                        throw refused(uri, Errno.EACCES, "the server requires TLS (use nbds://)" + (message.isEmpty() ? "" : ": " + message));
                    throw refused(uri, errno, "the server refused export " + WireStrings.quote(uri.export())
                            + (message.isEmpty() ? "" : ": " + message));
                }
                // Any other reply type: ignore, as the specification asks of clients.
            }
            if (size < 0) throw refused(uri, Errno.EPROTO, "the server did not send NBD_INFO_EXPORT");
            return new Negotiated(t, new Result(size, flags, min, preferred, max));
        }
        return new Negotiated(t, exportName(t, uri, name, noZeroes, deadlineNanos));
    }

    /** One option reply: its type and its data (read whole, flipped for reading; at most 64 KiB). */
    private record OptionReply(int type, ByteBuffer data) {}

    private static OptionReply optionReply(Transport t, NbdUri uri, long deadlineNanos) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(20);
        t.readFully(header, deadlineNanos);
        if (header.getLong(0) != Nbd.OPTION_REPLY_MAGIC) throw refused(uri, Errno.EPROTO, "bad option reply magic");
        long length = Integer.toUnsignedLong(header.getInt(16));
        if (length > 64 * 1024) throw refused(uri, Errno.EPROTO, "option reply of " + length + " bytes");
        ByteBuffer data = ByteBuffer.allocate((int) length);
        t.readFully(data, deadlineNanos);
        return new OptionReply(header.getInt(12), data.flip());
    }

    /** NBD_OPT_STARTTLS and the TLS handshake; returns the TLS transport. */
    private static Transport startTls(Transport t, NbdUri uri, ClientTls tls, long deadlineNanos) throws IOException {
        javax.net.ssl.SSLEngine engine = tls.newEngine(uri);
        ByteBuffer option = ByteBuffer.allocate(16);
        option.putLong(Nbd.OPTION_MAGIC).putInt(Nbd.OPT_STARTTLS).putInt(0).flip();
        t.writeFully(option, deadlineNanos);
        OptionReply reply = optionReply(t, uri, deadlineNanos);
        int type = reply.type();
        ByteBuffer data = reply.data();
        if (type != Nbd.REP_ACK) {
            String message = new String(data.array(), StandardCharsets.UTF_8);
            throw refused(uri, Errno.EOPNOTSUPP, "the server does not offer TLS"
                    + (message.isEmpty() ? "" : ": " + message));
        }
        TlsTransport tt = new TlsTransport(t, engine);
        try {
            tt.handshake(deadlineNanos);
        } catch (javax.net.ssl.SSLException e) {
            throw refused(uri, Errno.EACCES, "TLS handshake with " + uri.where() + " failed: " + e.getMessage());
        }
        return tt;
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
