package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A minimal NBD client on a plain socket (simple replies), for tests that need several connections. */
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
