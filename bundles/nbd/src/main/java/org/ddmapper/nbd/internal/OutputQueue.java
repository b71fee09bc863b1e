package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The sending side of one connection: messages (replies on the server, requests on the client)
 * queued by any thread and written with gathering, non-blocking writes.
 *
 * <p>Design: whichever thread queues a message while nobody is writing becomes the writer and
 * drains the queue, batching every message queued meanwhile into one {@code writev} — so a
 * completion thread writes its own reply with no hand-off, and a burst of completions costs one
 * system call. Each message goes out whole in one write unless the socket is full. When the
 * socket is full the writer leaves the rest to the connection's owner thread ({@link
 * #wantsWritable}, {@link #onWritable}) instead of blocking: a client that stops reading can
 * never hold a device's completion thread. Message headers are encoded into one per-connection
 * direct buffer, so a batch allocates no direct memory.
 *
 * <p>The header before a large payload ({@link #LARGE_PAYLOAD_BYTES} and more) is sent on its
 * own, corked ({@link Transport#writeCorked}), and the payload next, so a large reply starts in
 * one segment with its header, as nbdkit sends it (see {@link NioTransport}).
 */
public final class OutputQueue {

    /** One message: a header encoded at write time, an optional payload buffer sent as is. */
    public interface Message {
        /** Bytes {@link #encodeHeader} will put (at most {@link #MAX_HEADER_BYTES}). */
        int headerBytes();

        /** Puts the header into {@code out}. */
        void encodeHeader(ByteBuffer out);

        /** The payload to send after the header (its position to limit), or null. */
        ByteBuffer payload();

        /** Called once the message is written, or dropped because the connection is gone. */
        void sent();
    }

    /** Longest header a message may have (a structured error chunk with a full-length message). */
    public static final int MAX_HEADER_BYTES = 32 + Nbd.MAX_STRING_BYTES;
    private static final int ARENA_BYTES = 16 * 1024;
    private static final int MAX_BATCH = 64;
    /** Payloads from this size on have their header sent corked, ahead of them. */
    static final int LARGE_PAYLOAD_BYTES = 64 * 1024;

    private final Transport transport;
    private final Runnable onIdle;
    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private final ByteBuffer arena = ByteBuffer.allocateDirect(ARENA_BYTES);
    private final ByteBuffer[] iov = new ByteBuffer[2 * MAX_BATCH + 1];
    /** Whether iov[i] is a header run to send corked, a large payload following it. */
    private final boolean[] corked = new boolean[2 * MAX_BATCH + 1];
    private final Message[] batch = new Message[MAX_BATCH];
    private int iovStart;
    private int iovEnd;
    private int batchSize;
    // Guarded by queue.
    private boolean writing;
    private boolean blocked;
    private boolean closed;
    private IOException failure;
    private volatile long progressNanos = System.nanoTime();

    /** A queue writing to {@code transport}; {@code onIdle} runs whenever the writer finds nothing left to write. */
    public OutputQueue(Transport transport, Runnable onIdle) {
        this.transport = transport;
        this.onIdle = onIdle;
    }

    /** Queues a message and, when no other thread is writing, writes it (and whatever else is queued). */
    public void send(Message m) {
        synchronized (queue) {
            if (closed) {
                m.sent();
                return;
            }
            queue.add(m);
            if (writing || blocked) return;
            writing = true;
        }
        progressNanos = System.nanoTime();
        drain();
    }

    /** Whether the socket was full and the owner thread should wait for it to become writable. */
    public boolean wantsWritable() {
        synchronized (queue) {
            return blocked;
        }
    }

    /** How long the socket has taken no bytes while messages wait to be written (0 when none wait). */
    public long stalledMillis() {
        return wantsWritable() ? (System.nanoTime() - progressNanos) / 1_000_000 : 0;
    }

    /** Whether anything is queued or partly written. */
    public boolean isIdle() {
        synchronized (queue) {
            return !writing && !blocked && queue.isEmpty();
        }
    }

    /** Owner thread: the socket became writable, carry on writing. */
    public void onWritable() {
        synchronized (queue) {
            if (!blocked || closed) return;
            blocked = false;
            writing = true;
        }
        drain();
    }

    /** Drops everything queued (each message's {@link Message#sent} runs) and refuses new messages. */
    public void close() {
        ArrayDeque<Message> dropped;
        synchronized (queue) {
            if (closed) return;
            closed = true;
            dropped = new ArrayDeque<>(queue);
            queue.clear();
            if (writing) {
                // The writer is mid-batch; it notices the close and drops its batch itself.
                dropped.forEach(Message::sent);
                return;
            }
        }
        dropBatch();
        dropped.forEach(Message::sent);
    }

    /** The write error that broke the connection, or null. */
    public IOException failure() {
        synchronized (queue) {
            return failure;
        }
    }

    private void drain() {
        for (;;) {
            if (iovStart == iovEnd && !fillBatch()) {
                onIdle.run();
                return;
            }
            // One write call per segment: a corked header alone, or everything up to the next one.
            int segmentEnd = iovStart + 1;
            if (!corked[iovStart]) {
                while (segmentEnd < iovEnd && !corked[segmentEnd]) segmentEnd++;
            }
            long written;
            try {
                written = corked[iovStart] ? transport.writeCorked(iov[iovStart])
                        : transport.write(iov, iovStart, segmentEnd - iovStart);
            } catch (IOException e) {
                fail(e);
                return;
            }
            if (written < 0) {
                fail(new IOException("connection closed"));
                return;
            }
            if (written > 0) progressNanos = System.nanoTime();
            while (iovStart < iovEnd && !iov[iovStart].hasRemaining()) {
                corked[iovStart] = false;
                iov[iovStart++] = null;
            }
            if (iovStart < segmentEnd) {
                // The socket took less than it was given: it is full.
                synchronized (queue) {
                    writing = false;
                    if (closed) {
                        // fall through to drop below
                    } else {
                        blocked = true;
                    }
                }
                if (isClosed()) dropBatch();
                transport.wakeup();
                return;
            }
            if (iovStart < iovEnd) continue;
            finishBatch();
        }
    }

    /** Takes queued messages into the next batch; false (and no longer writing) when there are none. */
    private boolean fillBatch() {
        synchronized (queue) {
            if (closed || queue.isEmpty()) {
                writing = false;
                return false;
            }
            arena.clear();
            iovStart = 0;
            iovEnd = 0;
            int runStart = 0;
            while (batchSize < MAX_BATCH && !queue.isEmpty()
                    && arena.remaining() >= queue.peekFirst().headerBytes()) {
                Message m = queue.pollFirst();
                batch[batchSize++] = m;
                m.encodeHeader(arena);
                ByteBuffer payload = m.payload();
                if (payload != null && payload.hasRemaining()) {
                    corked[iovEnd] = payload.remaining() >= LARGE_PAYLOAD_BYTES;
                    iov[iovEnd++] = arena.duplicate().position(runStart).limit(arena.position());
                    runStart = arena.position();
                    corked[iovEnd] = false;
                    iov[iovEnd++] = payload;
                }
            }
            if (arena.position() > runStart) {
                corked[iovEnd] = false;
                iov[iovEnd++] = arena.duplicate().position(runStart).limit(arena.position());
            }
            return true;
        }
    }

    private void finishBatch() {
        for (int i = 0; i < batchSize; i++) {
            Message m = batch[i];
            batch[i] = null;
            m.sent();
        }
        batchSize = 0;
    }

    private void dropBatch() {
        for (int i = iovStart; i < iovEnd; i++) {
            iov[i] = null;
            corked[i] = false;
        }
        iovStart = iovEnd = 0;
        finishBatch();
    }

    private boolean isClosed() {
        synchronized (queue) {
            return closed;
        }
    }

    private void fail(IOException e) {
        ArrayDeque<Message> dropped;
        synchronized (queue) {
            if (failure == null) failure = e;
            writing = false;
            closed = true;
            dropped = new ArrayDeque<>(queue);
            queue.clear();
        }
        transport.close();
        dropBatch();
        dropped.forEach(Message::sent);
    }
}
