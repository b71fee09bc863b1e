package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A minimal NBD client on a plain socket (simple replies), for tests that need several
 * connections or requests no library sends: it enters transmission with NBD_OPT_EXPORT_NAME, or
 * with NBD_OPT_GO asking for block sizes or not.
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
