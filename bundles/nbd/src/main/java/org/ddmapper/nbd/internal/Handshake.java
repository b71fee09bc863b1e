package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.tinylog.Logger;

/**
 * The server side of the newstyle fixed handshake: greeting, client flags, then option haggling
 * until NBD_OPT_GO or NBD_OPT_EXPORT_NAME picks an export (a {@link Session}), the client aborts
 * (null), or the client breaks a MUST (a {@link ProtocolException}: the connection is dropped).
 *
 * <p>Every read and write runs against one deadline, so a client that stalls anywhere in the
 * handshake is dropped when it passes. An option's length is checked before anything of it is
 * read: up to {@code maxOptionBytes} it is read and parsed, up to {@code maxSkippedOptionBytes}
 * it is skipped and refused with NBD_REP_ERR_TOO_BIG, above that the connection is dropped
 * without reading it. Each error reply carries a sentence saying what was wrong.
 */
public final class Handshake {
    private static final int MAX_META_QUERIES = 128;
    private static final int REFUSED_OPTIONS = 8;

    private Transport transport;
    private final ServerTls tls;
    private final ExportAccess access;
    private final java.net.InetAddress peerAddress;
    private boolean tlsOn;
    private final Exports exports;
    private final ServerLimits limits;
    private final long deadlineNanos;

    private boolean noZeroes;
    private boolean structured;
    private boolean baseAllocation;
    private String metaExport;

    public Handshake(Transport transport, Exports exports, ServerLimits limits, long deadlineNanos) {
        this(transport, exports, limits, deadlineNanos, ServerTls.OFF, ExportAccess.OPEN, null);
    }

    /** A handshake with TLS as {@code tls} says, exports allowed as {@code access} says for a client at {@code peerAddress} (null: Unix socket). */
    public Handshake(Transport transport, Exports exports, ServerLimits limits, long deadlineNanos, ServerTls tls,
                     ExportAccess access, java.net.InetAddress peerAddress) {
        this.transport = transport;
        this.tls = tls;
        this.access = access;
        this.peerAddress = peerAddress;
        this.exports = exports;
        this.limits = limits;
        this.deadlineNanos = deadlineNanos;
    }

    /** Runs the handshake to its end. */
    public Session run() throws IOException {
        greet();
        ByteBuffer header = ByteBuffer.allocate(16);
        for (int count = 1; ; count++) {
            header.clear();
            transport.readFully(header, deadlineNanos);
            long magic = header.getLong(0);
            int option = header.getInt(8);
            long length = Integer.toUnsignedLong(header.getInt(12));
            if (magic != Nbd.OPTION_MAGIC)
                throw new ProtocolException("bad option magic 0x" + Long.toHexString(magic));
            if (count > limits.maxOptions())
                throw new ProtocolException("more than " + limits.maxOptions() + " options in one handshake");
            if (length > limits.maxSkippedOptionBytes())
                throw new ProtocolException(Nbd.optionName(option) + " of " + length + " bytes is too large to read");
            if (length > limits.maxOptionBytes()) {
                skip(length);
                replyError(option, Nbd.REP_ERR_TOO_BIG, Nbd.optionName(option) + " of " + length
                        + " bytes is larger than the " + limits.maxOptionBytes() + " bytes this server accepts");
                continue;
            }
            byte[] data = new byte[(int) length];
            transport.readFully(ByteBuffer.wrap(data), deadlineNanos);
            if (tls.mode() == ServerTls.Mode.REQUIRE && !tlsOn && option != Nbd.OPT_STARTTLS && option != Nbd.OPT_ABORT) {
                // NBD_OPT_EXPORT_NAME cannot carry an error: the specification says to close.
                if (option == Nbd.OPT_EXPORT_NAME)
                    throw new ProtocolException("NBD_OPT_EXPORT_NAME without TLS, which this server requires");
                replyError(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: send NBD_OPT_STARTTLS first");
                continue;
            }
            Session session = switch (option) {
                case Nbd.OPT_EXPORT_NAME -> exportName(data);
                case Nbd.OPT_ABORT -> {
                    abort();
                    yield null;
                }
                case Nbd.OPT_GO, Nbd.OPT_INFO -> infoOrGo(option, data);
                default -> {
                    otherOption(option, data);
                    yield null;
                }
            };
            if (session != null) return session;
            if (option == Nbd.OPT_ABORT) return null;
        }
    }

    /**
     * Answers a connection the server has no room for, so that the client can tell its user why:
     * the greeting, then {@code NBD_REP_ERR_POLICY} with {@code reason} for each of a few options
     * (NBD_OPT_ABORT is acknowledged; NBD_OPT_EXPORT_NAME, which cannot carry an error, and
     * anything malformed or large just end it). Returns when the caller should close.
     */
    public void refuse(String reason) throws IOException {
        greet();
        ByteBuffer header = ByteBuffer.allocate(16);
        for (int count = 0; count < REFUSED_OPTIONS; count++) {
            header.clear();
            transport.readFully(header, deadlineNanos);
            int option = header.getInt(8);
            long length = Integer.toUnsignedLong(header.getInt(12));
            if (header.getLong(0) != Nbd.OPTION_MAGIC || length > limits.maxOptionBytes()) return;
            skip(length);
            if (option == Nbd.OPT_EXPORT_NAME) return;
            if (option == Nbd.OPT_ABORT) {
                abort();
                return;
            }
            replyError(option, Nbd.REP_ERR_POLICY, reason);
        }
    }

    /** The greeting and the client's flags. */
    private void greet() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(Nbd.INIT_MAGIC).putLong(Nbd.OPTION_MAGIC)
                .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
        transport.writeFully(greeting, deadlineNanos);

        ByteBuffer clientFlags = ByteBuffer.allocate(4);
        transport.readFully(clientFlags, deadlineNanos);
        int flags = clientFlags.getInt(0);
        if ((flags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0)
            throw new ProtocolException("unknown client flags 0x" + Integer.toHexString(flags));
        noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
    }

    private void otherOption(int option, byte[] data) throws IOException {
        switch (option) {
            case Nbd.OPT_LIST -> list(data);
            case Nbd.OPT_STRUCTURED_REPLY -> {
                if (data.length != 0) {
                    replyError(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY carries no data, got " + data.length + " bytes");
                } else {
                    structured = true;
                    reply(option, Nbd.REP_ACK, new byte[0]);
                }
            }
            case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(option, data);
            case Nbd.OPT_STARTTLS -> startTls(data);
            default -> replyError(option, Nbd.REP_ERR_UNSUP, Nbd.optionName(option) + " is not supported by this server");
        }
    }

    /**
     * NBD_OPT_STARTTLS: acknowledged, then the TLS handshake (against the handshake's deadline),
     * then option haggling starts afresh over TLS: what was negotiated before is forgotten, as the
     * specification requires.
     */
    private void startTls(byte[] data) throws IOException {
        if (data.length != 0) {
            replyError(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS carries no data, got " + data.length + " bytes");
        } else if (tls.mode() == ServerTls.Mode.OFF) {
            replyError(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not offered by this server");
        } else if (tlsOn) {
            replyError(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already on for this connection");
        } else {
            reply(Nbd.OPT_STARTTLS, Nbd.REP_ACK, new byte[0]);
            TlsTransport t = new TlsTransport(transport, tls.newEngine());
            try {
                t.handshake(deadlineNanos);
            } catch (javax.net.ssl.SSLException e) {
                throw new ProtocolException("TLS handshake failed: " + e.getMessage());
            }
            transport = t;
            tlsOn = true;
            structured = false;
            baseAllocation = false;
            metaExport = null;
            Logger.debug("nbd: {}: TLS on ({}, {})", t.peer(), t.session().getProtocol(), t.session().getCipherSuite());
        }
    }

    /** Why this client may not use {@code export} (its address, its verified certificate), or null. */
    private String refusal(String export) {
        return access.refusal(export, peerAddress, transport instanceof TlsTransport t ? t.peerSubject() : null);
    }

    /** The transport after the handshake: the accepted one, or TLS over it after NBD_OPT_STARTTLS. */
    public Transport transport() {
        return transport;
    }

    /** NBD_OPT_EXPORT_NAME cannot answer an error: anything wrong drops the connection, as the specification says. */
    private Session exportName(byte[] data) throws IOException {
        String name;
        try {
            name = WireStrings.decode(data, 0, data.length, "export name");
        } catch (WireStrings.InvalidString e) {
            throw new ProtocolException("NBD_OPT_EXPORT_NAME: " + e.getMessage());
        }
        DeviceInfo export = exports.find(name);
        if (export == null) throw new ProtocolException("NBD_OPT_EXPORT_NAME: " + exports.notFound(name));
        String refusal = refusal(export.name());
        if (refusal != null) throw new ProtocolException("NBD_OPT_EXPORT_NAME: " + refusal);
        DeviceManager.OpenDevice device;
        try {
            device = exports.open(export);
        } catch (DmException e) {
            throw new ProtocolException("NBD_OPT_EXPORT_NAME: " + e.getMessage());
        }
        try {
            long size = device.sizeSectors() << Bio.SECTOR_SHIFT;
            int flags = Exports.transmissionFlags(device.readOnly() || export.readOnly(), structured);
            ByteBuffer reply = ByteBuffer.allocate(noZeroes ? 10 : 134);
            reply.putLong(size).putShort((short) flags).position(reply.capacity()).flip();
            transport.writeFully(reply, deadlineNanos);
            boolean contexts = baseAllocation && name.equals(metaExport);
            // No block sizes can be told here: the client is held to none (any alignment is served).
            return new Session(export.name(), device, size, flags, 1, Exports.minimumBlockBytes(device), structured,
                    contexts, exports.shared(device));
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    private void abort() {
        try {
            reply(Nbd.OPT_ABORT, Nbd.REP_ACK, new byte[0]);
        } catch (IOException e) {
            // The client may hang up without waiting for the acknowledgement.
            Logger.debug("nbd: {}: abort not acknowledged: {}", transport.peer(), e.getMessage());
        }
    }

    private void list(byte[] data) throws IOException {
        if (data.length != 0) {
            replyError(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST carries no data, got " + data.length + " bytes");
            return;
        }
        for (DeviceInfo d : exports.list()) {
            if (refusal(d.name()) != null) continue;
            byte[] name = d.name().getBytes(StandardCharsets.UTF_8);
            byte[] description = WireStrings.encode(Exports.describe(d), Nbd.MAX_STRING_BYTES);
            ByteBuffer payload = ByteBuffer.allocate(4 + name.length + description.length);
            payload.putInt(name.length).put(name).put(description);
            reply(Nbd.OPT_LIST, Nbd.REP_SERVER, payload.array());
        }
        reply(Nbd.OPT_LIST, Nbd.REP_ACK, new byte[0]);
    }

    /** NBD_OPT_INFO and NBD_OPT_GO share their request and replies; GO then enters transmission. */
    private Session infoOrGo(int option, byte[] data) throws IOException {
        String what = Nbd.optionName(option);
        if (data.length < 6) {
            replyError(option, Nbd.REP_ERR_INVALID, what + " needs at least 6 bytes, got " + data.length);
            return null;
        }
        ByteBuffer in = ByteBuffer.wrap(data);
        long nameLength = Integer.toUnsignedLong(in.getInt());
        if (nameLength > data.length - 6) {
            replyError(option, Nbd.REP_ERR_INVALID, what + ": name length " + nameLength
                    + " does not fit in the option's " + data.length + " bytes");
            return null;
        }
        int nameAt = in.position();
        in.position(nameAt + (int) nameLength);
        int infoCount = Short.toUnsignedInt(in.getShort());
        if (data.length != 4 + nameLength + 2 + 2L * infoCount) {
            replyError(option, Nbd.REP_ERR_INVALID, what + ": length " + data.length + " does not match a name of "
                    + nameLength + " bytes and " + infoCount + " information requests");
            return null;
        }
        Set<Integer> requested = new LinkedHashSet<>();
        for (int i = 0; i < infoCount; i++) requested.add(Short.toUnsignedInt(in.getShort()));
        String name;
        try {
            name = WireStrings.decode(data, nameAt, (int) nameLength, "export name");
        } catch (WireStrings.InvalidString e) {
            replyError(option, Nbd.REP_ERR_INVALID, what + ": " + e.getMessage());
            return null;
        }
        DeviceInfo export = exports.find(name);
        if (export == null) {
            replyError(option, Nbd.REP_ERR_UNKNOWN, exports.notFound(name));
            return null;
        }
        String refusal = refusal(export.name());
        if (refusal != null) {
            Logger.info("nbd: {}: {} refused: {}", transport.peer(), what, refusal);
            replyError(option, Nbd.REP_ERR_POLICY, refusal);
            return null;
        }
        DeviceManager.OpenDevice device;
        try {
            device = exports.open(export);
        } catch (DmException e) {
            replyError(option, Nbd.REP_ERR_UNKNOWN, e.getMessage());
            return null;
        }
        boolean handedOver = false;
        try {
            long size = device.sizeSectors() << Bio.SECTOR_SHIFT;
            int flags = Exports.transmissionFlags(device.readOnly() || export.readOnly(), structured);
            int deviceBlock = Exports.minimumBlockBytes(device);
            // A client that asks for block sizes in GO must keep to them, so it gets the device's
            // block as minimum and misaligned requests are refused. One that does not ask may send
            // any alignment (the specification's default minimum of 1), and is served on whole
            // blocks (UnalignedRequests); it is told so, the same way (INFO answers as GO would).
            int minBlock = requested.contains(Nbd.INFO_BLOCK_SIZE) ? deviceBlock : 1;
            ByteBuffer info = ByteBuffer.allocate(12);
            info.putShort((short) Nbd.INFO_EXPORT).putLong(size).putShort((short) flags);
            reply(option, Nbd.REP_INFO, info.array());
            ByteBuffer blockSize = ByteBuffer.allocate(14);
            blockSize.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(minBlock).putInt(Math.max(4096, deviceBlock))
                    .putInt(limits.maxPayloadBytes());
            reply(option, Nbd.REP_INFO, blockSize.array());
            if (requested.contains(Nbd.INFO_NAME)) replyInfoString(option, Nbd.INFO_NAME, export.name());
            if (requested.contains(Nbd.INFO_DESCRIPTION)) replyInfoString(option, Nbd.INFO_DESCRIPTION, Exports.describe(export));
            if (option == Nbd.OPT_INFO) {
                // released before the last reply: a client that has read it holds no opener any more
                handedOver = true;
                device.close();
                reply(option, Nbd.REP_ACK, new byte[0]);
                return null;
            }
            reply(option, Nbd.REP_ACK, new byte[0]);
            boolean contexts = baseAllocation && name.equals(metaExport);
            handedOver = true;
            return new Session(export.name(), device, size, flags, minBlock, deviceBlock, structured, contexts,
                    exports.shared(device));
        } finally {
            if (!handedOver) device.close();
        }
    }

    private void replyInfoString(int option, int type, String text) throws IOException {
        byte[] bytes = WireStrings.encode(text, Nbd.MAX_STRING_BYTES);
        ByteBuffer b = ByteBuffer.allocate(2 + bytes.length);
        b.putShort((short) type).put(bytes);
        reply(option, Nbd.REP_INFO, b.array());
    }

    /** NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: we know one context, base:allocation. */
    private void metaContext(int option, byte[] data) throws IOException {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        String what = Nbd.optionName(option);
        if (set) {
            // Setting replaces the previous selection, even when it fails.
            baseAllocation = false;
            metaExport = null;
        }
        if (!structured) {
            replyError(option, Nbd.REP_ERR_INVALID, what + " needs NBD_OPT_STRUCTURED_REPLY first");
            return;
        }
        ByteBuffer in = ByteBuffer.wrap(data);
        if (data.length < 8) {
            replyError(option, Nbd.REP_ERR_INVALID, what + " needs at least 8 bytes, got " + data.length);
            return;
        }
        long nameLength = Integer.toUnsignedLong(in.getInt());
        if (nameLength > data.length - 8) {
            replyError(option, Nbd.REP_ERR_INVALID, what + ": name length " + nameLength
                    + " does not fit in the option's " + data.length + " bytes");
            return;
        }
        int nameAt = in.position();
        in.position(nameAt + (int) nameLength);
        long queryCount = Integer.toUnsignedLong(in.getInt());
        if (queryCount > MAX_META_QUERIES) {
            replyError(option, Nbd.REP_ERR_TOO_BIG, what + ": " + queryCount + " queries, at most "
                    + MAX_META_QUERIES + " are accepted");
            return;
        }
        List<String> queries = new ArrayList<>();
        try {
            String name = WireStrings.decode(data, nameAt, (int) nameLength, "export name");
            for (long i = 0; i < queryCount; i++) {
                if (in.remaining() < 4) throw new WireStrings.InvalidString("query " + (i + 1) + " is missing");
                long queryLength = Integer.toUnsignedLong(in.getInt());
                if (queryLength > in.remaining())
                    throw new WireStrings.InvalidString("query " + (i + 1) + " of " + queryLength + " bytes does not fit in the option");
                String query = WireStrings.decode(data, in.position(), (int) queryLength, "query " + (i + 1));
                in.position(in.position() + (int) queryLength);
                if (query.indexOf(':') <= 0)
                    throw new WireStrings.InvalidString("query " + WireStrings.quote(query) + " does not start with a namespace and a colon");
                queries.add(query);
            }
            if (in.hasRemaining()) throw new WireStrings.InvalidString(in.remaining() + " bytes left over after the queries");
            if (exports.find(name) == null) {
                replyError(option, Nbd.REP_ERR_UNKNOWN, exports.notFound(name));
                return;
            }
            boolean matches = set ? queries.contains(Nbd.CONTEXT_BASE_ALLOCATION)
                    : queries.isEmpty() || queries.contains("base:") || queries.contains(Nbd.CONTEXT_BASE_ALLOCATION);
            if (matches) {
                byte[] context = Nbd.CONTEXT_BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
                ByteBuffer payload = ByteBuffer.allocate(4 + context.length);
                payload.putInt(set ? Nbd.CONTEXT_BASE_ALLOCATION_ID : 0).put(context);
                reply(option, Nbd.REP_META_CONTEXT, payload.array());
            }
            if (set) {
                baseAllocation = matches;
                metaExport = name;
            }
            reply(option, Nbd.REP_ACK, new byte[0]);
        } catch (WireStrings.InvalidString e) {
            replyError(option, Nbd.REP_ERR_INVALID, what + ": " + e.getMessage());
        }
    }

    private void skip(long length) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate(8192);
        long left = length;
        while (left > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), left));
            transport.readFully(scratch, deadlineNanos);
            left -= scratch.limit();
        }
    }

    private void replyError(int option, int type, String message) throws IOException {
        Logger.debug("nbd: {}: {} refused: {}", transport.peer(), Nbd.optionName(option), message);
        reply(option, type, WireStrings.encode(message, Nbd.MAX_STRING_BYTES));
    }

    /** One option reply, sent in one write. */
    private void reply(int option, int type, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(payload.length).put(payload).flip();
        transport.writeFully(b, deadlineNanos);
    }
}
