package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.nbd.internal.NioTransport;
import org.ddmapper.nbd.internal.OutputQueue;
import org.ddmapper.nbd.internal.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reply queue over a real loopback TCP socket: large payloads go out header first (corked,
 * MSG_MORE) and payload next, small ones batched in one writev; whatever the mix, with several
 * threads queueing and the socket filling (the owner thread then writes the rest), the peer reads
 * every reply whole and once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OutputQueueTest {

    /** A message with a 16-byte header naming its index and an optional payload. */
    private record Reply(int index, ByteBuffer data, AtomicInteger sentCount) implements OutputQueue.Message {
        @Override
        public int headerBytes() {
            return 16;
        }

        @Override
        public void encodeHeader(ByteBuffer out) {
            out.putInt(0x67446698).putInt(index).putLong(data == null ? 0 : data.remaining());
        }

        @Override
        public ByteBuffer payload() {
            return data;
        }

        @Override
        public void sent() {
            sentCount.incrementAndGet();
        }
    }

    @Test
    void repliesFromSeveralThreadsArriveWholeWhileTheSocketFills() throws Exception {
        Random random = new Random(11);
        int[] sizes = {1 << 20, 0, 4096, 64 * 1024, 64 * 1024 - 1, 0, 3 << 20, 512, 1 << 20, 1 << 20, 0, 200 * 1024};
        AtomicInteger sent = new AtomicInteger();
        List<Reply> replies = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        long totalBytes = 0;
        for (int round = 0; round < 4; round++) {
            for (int size : sizes) {
                byte[] bytes = new byte[size];
                random.nextBytes(bytes);
                ByteBuffer data = size == 0 ? null : ByteBuffer.allocateDirect(size).put(bytes).flip();
                replies.add(new Reply(replies.size(), data, sent));
                payloads.add(bytes);
                totalBytes += 16 + size;
            }
        }

        try (ServerSocketChannel listener = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(listener.getLocalAddress());
             SocketChannel accepted = listener.accept()) {
            NioTransport transport = new NioTransport(accepted);
            assertTrue(transport.sendsCorked(),
                    "TCP replies should be corked here (surefire passes the launcher's --add-exports)");
            OutputQueue queue = new OutputQueue(transport, () -> { });

            // Three completion threads queue their replies while the peer does not read yet: the socket
            // fills, and the owner thread writes what is left to it, as a connection's thread does.
            List<Thread> completions = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int first = t;
                Thread completion = new Thread(() -> {
                    for (int i = first; i < replies.size(); i += 3) queue.send(replies.get(i));
                });
                completion.start();
                completions.add(completion);
            }
            AtomicBoolean queued = new AtomicBoolean();
            Thread owner = new Thread(() -> {
                try {
                    while (!queued.get() || !queue.isIdle()) {
                        int interest = queue.wantsWritable() ? Transport.WRITABLE : 0;
                        if ((transport.await(interest, 20) & Transport.WRITABLE) != 0) queue.onWritable();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            owner.start();
            for (Thread t : completions) t.join();
            queued.set(true);
            transport.wakeup();

            // Each reply whole: header, then exactly its own payload; each once.
            ByteBuffer got = ByteBuffer.allocate((int) totalBytes);
            while (got.hasRemaining()) {
                if (client.read(got) < 0) break;
                Thread.sleep(got.position() % 7 == 0 ? 1 : 0); // a slow reader now and then
            }
            owner.join();
            assertEquals(totalBytes, got.position(), "bytes received");
            got.flip();
            boolean[] seen = new boolean[replies.size()];
            while (got.hasRemaining()) {
                assertEquals(0x67446698, got.getInt(), "magic at byte " + (got.position() - 4));
                int index = got.getInt();
                int length = (int) got.getLong();
                assertFalse(seen[index], "reply " + index + " twice");
                seen[index] = true;
                assertEquals(payloads.get(index).length, length, "length of reply " + index);
                byte[] payload = new byte[length];
                got.get(payload);
                assertArrayEquals(payloads.get(index), payload, "payload of reply " + index);
            }
            assertEquals(replies.size(), sent.get(), "every message reported sent once");
            assertNull(queue.failure());
            transport.release();
        }
    }
}
