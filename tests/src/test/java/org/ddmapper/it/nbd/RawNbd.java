package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal NBD client on a plain socket (simple replies), for tests that need several
 * connections or requests no library sends: it enters transmission with NBD_OPT_EXPORT_NAME, or
 * with NBD_OPT_GO asking for block sizes or not; and {@link #blockStatus}, one BLOCK_STATUS on a
 * connection of its own.
 */
final class RawNbd implements AutoCloseable {
    static final int CMD_READ = 0, CMD_WRITE = 1, CMD_DISC = 2, CMD_FLUSH = 3, CMD_TRIM = 4, CMD_CACHE = 5,
            CMD_WRITE_ZEROES = 6;
    static final int FLAG_FUA = 1, FLAG_NO_HOLE = 2;
    static final int EINVAL = 22;
    private static final long OPTION_MAGIC = 0x49484156454F5054L;
    private static final int OPT_EXPORT_NAME = 1, OPT_GO = 7, REP_ACK = 1, REP_INFO = 3;
    private static final int INFO_EXPORT = 0, INFO_BLOCK_SIZE = 3;
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    long size;
    int flags;
    /** The minimum block size NBD_OPT_GO told (0: not told, as with NBD_OPT_EXPORT_NAME). */
    int minBlock;

    /** Connects with NBD_OPT_EXPORT_NAME (no block sizes can be told). */
    RawNbd(String hostPort, String export) throws IOException {
        this(hostPort);
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        option(OPT_EXPORT_NAME, name);
        size = in.readLong();
        flags = in.readUnsignedShort();
    }

    private RawNbd(String hostPort) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        socket = new Socket();
        socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 5000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        assertEquals(0x4e42444d41474943L, in.readLong());
        assertEquals(OPTION_MAGIC, in.readLong());
        in.readUnsignedShort();
        out.writeInt(3); // fixed newstyle, no zeroes
    }

    /** Connects with NBD_OPT_GO, asking for NBD_INFO_BLOCK_SIZE or not. */
    static RawNbd go(String hostPort, String export, boolean askBlockSizes) throws IOException {
        RawNbd c = new RawNbd(hostPort);
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + (askBlockSizes ? 2 : 0));
        data.putInt(name.length).put(name).putShort((short) (askBlockSizes ? 1 : 0));
        if (askBlockSizes) data.putShort((short) INFO_BLOCK_SIZE);
        c.option(OPT_GO, data.array());
        for (;;) {
            assertEquals(0x3e889045565a9L, c.in.readLong(), "option reply magic");
            c.in.readInt();
            int type = c.in.readInt();
            byte[] reply = new byte[c.in.readInt()];
            c.in.readFully(reply);
            if (type == REP_ACK) return c;
            assertEquals(REP_INFO, type, "GO refused: " + new String(reply, StandardCharsets.UTF_8));
            ByteBuffer b = ByteBuffer.wrap(reply);
            int info = b.getShort() & 0xffff;
            if (info == INFO_EXPORT) {
                c.size = b.getLong();
                c.flags = b.getShort() & 0xffff;
            } else if (info == INFO_BLOCK_SIZE) {
                c.minBlock = b.getInt();
            }
        }
    }

    private void option(int option, byte[] data) throws IOException {
        out.writeLong(OPTION_MAGIC);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    void send(int type, long handle, long offset, int length, byte[] payload) throws IOException {
        send(type, 0, handle, offset, length, payload);
    }

    void send(int type, int commandFlags, long handle, long offset, int length, byte[] payload) throws IOException {
        out.writeInt(0x25609513);
        out.writeShort(commandFlags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt(length);
        if (payload != null) out.write(payload);
        out.flush();
    }

    /** Reads one simple reply; returns its error, checking the handle. */
    int reply(long handle, byte[] readInto) throws IOException {
        assertEquals(0x67446698, in.readInt());
        int error = in.readInt();
        assertEquals(handle, in.readLong());
        if (error == 0 && readInto != null) in.readFully(readInto);
        return error;
    }

    /**
     * Negotiates structured replies and base:allocation (NBD_OPT_GO), sends one BLOCK_STATUS with
     * {@code flags}, and returns its descriptors as {length, status} pairs.
     */
    static List<int[]> blockStatus(String hostPort, String export, int flags, long offset, int length) throws IOException {
        try (RawNbd c = new RawNbd(hostPort)) {
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            byte[] query = "base:allocation".getBytes(StandardCharsets.UTF_8);
            c.option(8, new byte[0]); // NBD_OPT_STRUCTURED_REPLY
            assertEquals(1, c.optionReplies(8), "structured replies acknowledged");
            ByteBuffer meta = ByteBuffer.allocate(12 + name.length + query.length)
                    .putInt(name.length).put(name).putInt(1).putInt(query.length).put(query);
            c.option(10, meta.array()); // NBD_OPT_SET_META_CONTEXT
            assertEquals(2, c.optionReplies(10), "one context and the ack");
            c.option(OPT_GO, ByteBuffer.allocate(6 + name.length).putInt(name.length).put(name).putShort((short) 0).array());
            c.optionReplies(OPT_GO); // infos, then the ack
            c.send(7, flags, 1, offset, length, null); // NBD_CMD_BLOCK_STATUS
            assertEquals(0x668e33ef, c.in.readInt(), "a structured reply");
            c.in.readUnsignedShort();
            int type = c.in.readUnsignedShort();
            assertEquals(1, c.in.readLong());
            int payload = c.in.readInt();
            assertEquals(5, type, "NBD_REPLY_TYPE_BLOCK_STATUS");
            c.in.readInt(); // context id
            List<int[]> descriptors = new ArrayList<>();
            for (int i = 4; i < payload; i += 8) descriptors.add(new int[] {c.in.readInt(), c.in.readInt()});
            return descriptors;
        }
    }

    /** Reads an option's replies up to its NBD_REP_ACK; returns how many there were (the ack included). */
    private int optionReplies(int option) throws IOException {
        for (int n = 1; ; n++) {
            assertEquals(0x3e889045565a9L, in.readLong());
            assertEquals(option, in.readInt());
            int type = in.readInt();
            in.skipNBytes(in.readInt());
            if (type == REP_ACK) return n;
            if (type < 0) throw new IOException("option " + option + " refused with reply type 0x" + Integer.toHexString(type));
        }
    }

    /** Sends a request and returns its reply's error. */
    int call(int type, int commandFlags, long offset, int length, byte[] payload) throws IOException {
        send(type, commandFlags, 1, offset, length, payload);
        return reply(1, null);
    }

    /** Reads {@code length} bytes at {@code offset}, asserting success. */
    byte[] read(long offset, int length) throws IOException {
        byte[] data = new byte[length];
        send(CMD_READ, 2, offset, length, null);
        assertEquals(0, reply(2, data), "READ at " + offset + " length " + length);
        return data;
    }

    @Override
    public void close() throws IOException {
        try {
            send(CMD_DISC, 0, 0, 0, null);
        } catch (IOException ignored) {
            // already gone
        }
        socket.close();
    }
}
