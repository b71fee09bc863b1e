package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal NBD client on a plain socket (simple replies), for tests that need several
 * connections; and {@link #blockStatus}, one BLOCK_STATUS on a connection of its own.
 */
final class RawNbd implements AutoCloseable {
    static final int CMD_READ = 0, CMD_WRITE = 1, CMD_DISC = 2, CMD_FLUSH = 3;
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    final long size;
    final int flags;

    RawNbd(String hostPort, String export) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        socket = new Socket();
        socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 5000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        assertEquals(0x4e42444d41474943L, in.readLong());
        assertEquals(0x49484156454F5054L, in.readLong());
        in.readUnsignedShort();
        out.writeInt(3); // fixed newstyle, no zeroes
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        out.writeLong(0x49484156454F5054L);
        out.writeInt(1); // NBD_OPT_EXPORT_NAME
        out.writeInt(name.length);
        out.write(name);
        out.flush();
        size = in.readLong();
        flags = in.readUnsignedShort();
    }

    void send(int type, long handle, long offset, int length, byte[] payload) throws IOException {
        out.writeInt(0x25609513);
        out.writeShort(0);
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
        int colon = hostPort.lastIndexOf(':');
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 5000);
            s.setSoTimeout(20_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            in.skipNBytes(18); // NBDMAGIC, IHAVEOPT, handshake flags
            out.writeInt(3);
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            byte[] query = "base:allocation".getBytes(StandardCharsets.UTF_8);
            option(out, 8, new byte[0]); // NBD_OPT_STRUCTURED_REPLY
            assertEquals(1, optionReplies(in, 8), "structured replies acknowledged");
            java.nio.ByteBuffer meta = java.nio.ByteBuffer.allocate(12 + name.length + query.length)
                    .putInt(name.length).put(name).putInt(1).putInt(query.length).put(query);
            option(out, 10, meta.array()); // NBD_OPT_SET_META_CONTEXT
            assertEquals(2, optionReplies(in, 10), "one context and the ack");
            option(out, 7, java.nio.ByteBuffer.allocate(6 + name.length).putInt(name.length).put(name).putShort((short) 0).array());
            optionReplies(in, 7); // NBD_OPT_GO: infos, then the ack
            out.writeInt(0x25609513);
            out.writeShort(flags);
            out.writeShort(7); // NBD_CMD_BLOCK_STATUS
            out.writeLong(1);
            out.writeLong(offset);
            out.writeInt(length);
            out.flush();
            assertEquals(0x668e33ef, in.readInt(), "a structured reply");
            in.readUnsignedShort();
            int type = in.readUnsignedShort();
            assertEquals(1, in.readLong());
            int payload = in.readInt();
            assertEquals(5, type, "NBD_REPLY_TYPE_BLOCK_STATUS");
            in.readInt(); // context id
            List<int[]> descriptors = new ArrayList<>();
            for (int i = 4; i < payload; i += 8) descriptors.add(new int[] {in.readInt(), in.readInt()});
            return descriptors;
        }
    }

    private static void option(DataOutputStream out, int option, byte[] data) throws IOException {
        out.writeLong(0x49484156454F5054L);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    /** Reads an option's replies up to its NBD_REP_ACK; returns how many there were (the ack included). */
    private static int optionReplies(DataInputStream in, int option) throws IOException {
        for (int n = 1; ; n++) {
            assertEquals(0x3e889045565a9L, in.readLong());
            assertEquals(option, in.readInt());
            int type = in.readInt();
            in.skipNBytes(in.readInt());
            if (type == 1) return n;
            if (type < 0) throw new IOException("option " + option + " refused with reply type 0x" + Integer.toHexString(type));
        }
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
