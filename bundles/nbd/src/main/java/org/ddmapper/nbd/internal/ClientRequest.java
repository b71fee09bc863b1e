package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.ddmapper.api.IoStatus;

/**
 * One request of the NBD client ({@link NbdClientDevice}) on the wire: its header, the payload it
 * sends or the buffer its reply's data goes into, and its completion. It stays in flight until
 * its reply arrives; the reader keeps a structured reply's error chunk here until the chunk that
 * ends the reply.
 */
final class ClientRequest implements OutputQueue.Message {
    final long handle;
    final int cmd;
    final int cmdFlags;
    final long offset;
    final int length;
    final ByteBuffer payload;
    final ByteBuffer readInto;
    final Consumer<IoStatus> done;
    /** The error of a structured reply's error chunk (0: none yet), and its message. Reader thread only. */
    int error;
    String message = "";

    ClientRequest(long handle, int cmd, int cmdFlags, long offset, int length, ByteBuffer payload, ByteBuffer readInto,
                  Consumer<IoStatus> done) {
        this.handle = handle;
        this.cmd = cmd;
        this.cmdFlags = cmdFlags;
        this.offset = offset;
        this.length = length;
        this.payload = payload;
        this.readInto = readInto;
        this.done = done;
    }

    @Override
    public int headerBytes() {
        return 28;
    }

    @Override
    public void encodeHeader(ByteBuffer b) {
        b.putInt(Nbd.REQUEST_MAGIC).putShort((short) cmdFlags).putShort((short) cmd).putLong(handle)
                .putLong(offset).putInt(length);
    }

    @Override
    public ByteBuffer payload() {
        return payload;
    }

    @Override
    public void sent() {
        // The request stays in flight until its reply arrives.
    }
}
