package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.ddmapper.nbd.internal.Nbd;

/**
 * A deliberately low-level NBD client for tests: it sends exactly the bytes a test asks for,
 * hostile ones included, and reads replies field by field. Every read has a timeout.
 */
public final class WireClient implements AutoCloseable {
    public final Socket socket;
    public final DataInputStream in;
    public final DataOutputStream out;

    public record OptionReply(int option, int type, byte[] data) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    public record SimpleReply(int error, long handle) {
    }

    public record Chunk(int flags, int type, long handle, byte[] payload) {
        public int error() {
            return ByteBuffer.wrap(payload).getInt(0);
        }

        public String message() {
            int len = ByteBuffer.wrap(payload).getShort(4) & 0xffff;
            return new String(payload, 6, len, StandardCharsets.UTF_8);
        }
    }

    /** What GO told: size and transmission flags, and block sizes. */
    public record Export(long size, int flags, int minBlock, int preferredBlock, int maxBlock) {
    }

    public WireClient(InetSocketAddress address) throws IOException {
        this(address, null);
    }

    /** A client whose socket is bound to {@code local} (another loopback address, say), or any when null. */
    public WireClient(InetSocketAddress address, java.net.InetAddress local) throws IOException {
        this(address, local, 0);
    }

    /**
     * A client whose receive buffer is fixed at {@code receiveBufferBytes} (0: the kernel's,
     * which grows as data comes: up to tcp_rmem's maximum, 32 MiB on some machines, so a client
     * that reads nothing can still take in many replies).
     */
    public WireClient(InetSocketAddress address, java.net.InetAddress local, int receiveBufferBytes) throws IOException {
        socket = new Socket();
        if (receiveBufferBytes > 0) socket.setReceiveBufferSize(receiveBufferBytes);
        if (local != null) socket.bind(new InetSocketAddress(local, 0));
        socket.connect(address, 5000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    private WireClient(Socket tlsSocket) throws IOException {
        socket = tlsSocket;
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    /**
     * After NBD_OPT_STARTTLS was acknowledged: the TLS handshake on this connection with {@code
     * context}, and a client speaking over it (this one must not be used any more).
     */
    public WireClient overTls(javax.net.ssl.SSLContext context, String... protocols) throws IOException {
        javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) context.getSocketFactory()
                .createSocket(socket, "127.0.0.1", socket.getPort(), true);
        s.setUseClientMode(true);
        if (protocols.length > 0) s.setEnabledProtocols(protocols);
        s.setSoTimeout(10_000);
        s.startHandshake();
        return new WireClient(s);
    }

    /** Sends NBD_OPT_STARTTLS, expects it acknowledged, and goes on over TLS. */
    public WireClient startTls(javax.net.ssl.SSLContext context, String... protocols) throws IOException {
        sendOption(Nbd.OPT_STARTTLS, new byte[0]);
        OptionReply r = readOptionReply();
        assertEquals(Nbd.REP_ACK, r.type(), () -> "NBD_OPT_STARTTLS answered " + Integer.toHexString(r.type()) + ": " + r.text());
        return overTls(context, protocols);
    }

    /** Reads the greeting; returns the handshake flags. */
    public int readGreeting() throws IOException {
        assertEquals(Nbd.INIT_MAGIC, in.readLong());
        assertEquals(Nbd.OPTION_MAGIC, in.readLong());
        return in.readUnsignedShort();
    }

    /** Greeting plus client flags FIXED_NEWSTYLE | NO_ZEROES. */
    public WireClient start() throws IOException {
        readGreeting();
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
        out.flush();
        return this;
    }

    public void sendOption(int option, byte[] data) throws IOException {
        out.writeLong(Nbd.OPTION_MAGIC);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    public OptionReply readOptionReply() throws IOException {
        assertEquals(Nbd.OPTION_REPLY_MAGIC, in.readLong());
        int option = in.readInt();
        int type = in.readInt();
        int len = in.readInt();
        byte[] data = new byte[len];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** The payload of NBD_OPT_INFO / NBD_OPT_GO. */
    public static byte[] infoRequest(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) b.putShort((short) i);
        return b.array();
    }

    /** The payload of NBD_OPT_SET/LIST_META_CONTEXT. */
    public static byte[] metaRequest(String name, String... queries) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int len = 4 + n.length + 4;
        for (String q : queries) len += 4 + q.getBytes(StandardCharsets.UTF_8).length;
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return b.array();
    }

    /** Sends NBD_OPT_GO asking for block sizes (so it must keep to them) and reads its replies through the ACK. */
    public Export go(String name) throws IOException {
        return go(name, Nbd.INFO_BLOCK_SIZE);
    }

    /** Sends NBD_OPT_GO with these information requests and reads its replies through the ACK. */
    public Export go(String name, int... infos) throws IOException {
        sendOption(Nbd.OPT_GO, infoRequest(name, infos));
        long size = -1;
        int flags = -1;
        int min = 0, pref = 0, max = 0;
        for (;;) {
            OptionReply r = readOptionReply();
            if (r.type() == Nbd.REP_ACK) break;
            assertEquals(Nbd.REP_INFO, r.type(), "GO failed: " + r.text());
            ByteBuffer b = ByteBuffer.wrap(r.data());
            int info = b.getShort() & 0xffff;
            if (info == Nbd.INFO_EXPORT) {
                size = b.getLong();
                flags = b.getShort() & 0xffff;
            } else if (info == Nbd.INFO_BLOCK_SIZE) {
                min = b.getInt();
                pref = b.getInt();
                max = b.getInt();
            }
        }
        assertTrue(size >= 0, "no NBD_INFO_EXPORT");
        return new Export(size, flags, min, pref, max);
    }

    /** Negotiates structured replies (ACK expected). */
    public void structuredReplies() throws IOException {
        sendOption(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
        assertEquals(Nbd.REP_ACK, readOptionReply().type());
    }

    public void sendRequest(int flags, int type, long handle, long offset, long length) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt((int) length);
        out.flush();
    }

    public void write(long handle, long offset, byte[] data) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(Nbd.CMD_WRITE);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    public SimpleReply readSimpleReply() throws IOException {
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, in.readInt(), "simple reply magic");
        return new SimpleReply(in.readInt(), in.readLong());
    }

    public Chunk readChunk() throws IOException {
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, in.readInt(), "structured reply magic");
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long handle = in.readLong();
        int len = in.readInt();
        byte[] payload = new byte[len];
        in.readFully(payload);
        return new Chunk(flags, type, handle, payload);
    }

    /** Chunk type standing for a simple reply without error in {@link #readReply}. */
    public static final int SIMPLE_OK = -1;

    /**
     * The next reply of a structured session, simple or structured: a simple reply comes back as
     * a chunk of type {@link #SIMPLE_OK} (no error) or {@code REPLY_TYPE_ERROR} (error, no message).
     */
    public Chunk readReply() throws IOException {
        int magic = in.readInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            int error = in.readInt();
            long handle = in.readLong();
            if (error == 0) return new Chunk(Nbd.REPLY_FLAG_DONE, SIMPLE_OK, handle, new byte[0]);
            return new Chunk(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, handle,
                    ByteBuffer.allocate(6).putInt(error).putShort((short) 0).array());
        }
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic, "reply magic");
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long handle = in.readLong();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        return new Chunk(flags, type, handle, payload);
    }

    public byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    /** Whether the server closes the connection within the timeout (EOF or reset), reading and dropping anything before it. */
    public boolean closedByServer(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        InputStream s = socket.getInputStream();
        try {
            byte[] sink = new byte[8192];
            long end = System.currentTimeMillis() + timeoutMillis;
            while (System.currentTimeMillis() < end) {
                if (s.read(sink) < 0) return true;
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException | EOFException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
