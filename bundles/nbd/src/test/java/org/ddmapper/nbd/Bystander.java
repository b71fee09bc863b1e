package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Random;
import org.ddmapper.nbd.internal.Nbd;

/**
 * A well-behaved client connected before a hostile one acts and still using the same
 * connection afterwards: it wrote a block when it connected, and each {@link #verify} reads that
 * block back, writes a new one, reads it back and flushes — all on the one connection, each reply
 * checked by handle, error and bytes.
 */
final class Bystander implements AutoCloseable {
    static final String EXPORT = "bystander";
    static final int BLOCK = 64 * 1024;

    private final WireClient client;
    private final byte[] first;
    private long handle = 1000;
    private int rounds;

    Bystander(InetSocketAddress address) throws IOException {
        this(new WireClient(address).start());
    }

    /** A bystander on a connection past the greeting (over TLS, say), before its GO. */
    Bystander(WireClient negotiating) throws IOException {
        client = negotiating;
        client.go(EXPORT);
        first = block(0);
        writeAndReadBack(0, first);
    }

    /** The connection carries on: the first block reads back unchanged, a new one goes in and out, a flush succeeds. */
    void verify() throws IOException {
        assertArrayEquals(first, read(0), "the bystander's first block after the hostile client");
        rounds++;
        writeAndReadBack((long) (rounds % 32) * BLOCK + BLOCK, block(rounds));
        long h = ++handle;
        client.sendRequest(0, Nbd.CMD_FLUSH, h, 0, 0);
        assertEquals(new WireClient.SimpleReply(0, h), client.readSimpleReply(), "the bystander's flush");
    }

    private static byte[] block(int seed) {
        byte[] b = new byte[BLOCK];
        new Random(31L * seed + 7).nextBytes(b);
        return b;
    }

    private void writeAndReadBack(long offset, byte[] data) throws IOException {
        long h = ++handle;
        client.write(h, offset, data);
        assertEquals(new WireClient.SimpleReply(0, h), client.readSimpleReply(), "the bystander's write");
        assertArrayEquals(data, read(offset), "the bystander reads back what it wrote");
    }

    private byte[] read(long offset) throws IOException {
        long h = ++handle;
        client.sendRequest(0, Nbd.CMD_READ, h, offset, BLOCK);
        assertEquals(new WireClient.SimpleReply(0, h), client.readSimpleReply(), "the bystander's read");
        return client.readBytes(BLOCK);
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
