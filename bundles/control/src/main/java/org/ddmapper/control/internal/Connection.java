package org.ddmapper.control.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.ddmapper.control.unix.Wakeup;
import org.tinylog.Logger;

/**
 * One peer of the server: a connection to the control socket, or the server's end of a link.
 * Its own thread polls the socket and a wakeup; it reads one request at a time, runs it and
 * queues the reply; replies of WAITs (run elsewhere) and device events are queued from other
 * threads. Nothing here blocks on the peer: the socket is non-blocking and the queue drains
 * when the peer reads. A link's events beyond {@link #MAX_QUEUED_EVENTS} unread are dropped and
 * counted in an EVENTS_LOST item.
 */
final class Connection implements Runnable {
    /** Unread events a link holds before it starts dropping. */
    static final int MAX_QUEUED_EVENTS = 4096;
    /** Queued replies beyond which the connection stops reading requests until the peer reads. */
    private static final int MAX_QUEUED_REPLIES = 64;

    private final DdlinkServer server;
    private final SeqpacketSocket socket;
    private final Access access;
    private final String peer;
    private final Link link;
    private final Wakeup wakeup = new Wakeup();
    private final Queue<Outgoing> out = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queuedReplies = new AtomicInteger();
    private final AtomicInteger queuedEvents = new AtomicInteger();
    private final Set<Future<?>> waits = ConcurrentHashMap.newKeySet();
    private final Object eventLock = new Object();
    private long lostEvents;
    private volatile boolean closing;
    private volatile AutoCloseable subscription;

    /** The device a link is bound to (by instance id, so a rename keeps it and a re-create does not reach it). */
    record Link(long deviceId, String nameAtLink) {}

    Connection(DdlinkServer server, SeqpacketSocket socket, Access access, String peer, Link link) {
        this.server = server;
        this.socket = socket;
        this.access = access;
        this.peer = peer;
        this.link = link;
    }

    Access access() { return access; }

    String peer() { return peer; }

    /** The device this connection is a link to, or null for a control-socket connection. */
    Link link() { return link; }

    Set<Future<?>> waits() { return waits; }

    void subscription(AutoCloseable subscription) { this.subscription = subscription; }

    /** Queues a reply (and the descriptors to pass with it). Callable from any thread. */
    void reply(int op, int tag, int status, byte[] payload, int... fds) {
        if (closing) {
            for (int fd : fds) Fds.close(fd);
            return;
        }
        queuedReplies.incrementAndGet();
        out.add(new Outgoing(Item.reply(op, tag, status, payload).encode(), fds, false));
        if (closing) dropQueued(); // the connection ended meanwhile: its cleanup may have drained the queue already
        wakeup.signal();
    }

    /** Queues an error reply whose payload is the sentence. */
    void error(int op, int tag, Errno errno, String message) {
        String sentence = message.length() > 4000 ? message.substring(0, 3997) + "..." : message;
        reply(op, tag, -errno.code(), sentence.getBytes(StandardCharsets.UTF_8));
    }

    /** A device event for a link (called on the thread that raised it: never blocks). */
    void onEvent(DeviceEvent event) {
        if (closing) return;
        synchronized (eventLock) {
            if (queuedEvents.get() >= MAX_QUEUED_EVENTS) {
                lostEvents++;
                return;
            }
            if (lostEvents > 0) {
                byte[] lost = new PayloadWriter().u64(lostEvents).toBytes();
                out.add(new Outgoing(Item.reply(Op.EVENTS_LOST.code(), 0, 0, lost).encode(), null, true));
                queuedEvents.incrementAndGet();
                lostEvents = 0;
            }
            byte[] payload = new PayloadWriter().u64(event.eventNr()).u64(event.deviceId()).u64(event.timeMillis())
                    .u32(event.targetIndex()).u32(0).text(event.toLine()).toBytes();
            out.add(new Outgoing(Item.reply(Op.EVENT.code(), 0, 0, payload).encode(), null, true));
            queuedEvents.incrementAndGet();
        }
        wakeup.signal();
    }

    /** Asks the thread to finish (the server stops, or the peer went away). */
    void stop() {
        closing = true;
        wakeup.signal();
    }

    @Override
    public void run() {
        try {
            loop();
        } catch (IOException e) {
            Logger.debug("control: {} dropped: {}", peer, e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "control: {} failed", peer);
        } finally {
            cleanup();
        }
    }

    private void loop() throws IOException {
        int[] fds = {socket.fd(), wakeup.fd()};
        while (!closing) {
            boolean readRequests = queuedReplies.get() < MAX_QUEUED_REPLIES;
            short events = (short) ((readRequests ? Fds.POLLIN : 0) | (out.isEmpty() ? 0 : Fds.POLLOUT));
            short[] ready = Fds.poll(fds, new short[] {events, Fds.POLLIN}, -1);
            if (ready[1] != 0) wakeup.drain();
            if (closing) return;
            if (!flush()) return;
            if ((ready[0] & Fds.POLLIN) != 0 && readRequests) {
                Received received;
                try {
                    received = socket.receive(Ddlink.MAX_ITEM_BYTES, false);
                } catch (EOFException e) {
                    return;
                }
                if (received != null) server.dispatcher().handle(this, received);
                if (!flush()) return;
            } else if ((ready[0] & (Fds.POLLHUP | Fds.POLLERR | Fds.POLLNVAL)) != 0) {
                return;
            }
        }
    }

    /** Sends what is queued until the socket is full; false when the peer is gone. */
    private boolean flush() {
        Outgoing next;
        while ((next = out.peek()) != null) {
            boolean sent;
            try {
                sent = socket.send(next.item(), next.fds());
            } catch (IOException e) {
                Logger.debug("control: {} gone: {}", peer, e.getMessage());
                return false;
            }
            if (!sent) return true;
            out.poll();
            next.closeFds();
            (next.event() ? queuedEvents : queuedReplies).decrementAndGet();
        }
        return true;
    }

    private void cleanup() {
        closing = true;
        AutoCloseable s = subscription;
        if (s != null) {
            try {
                s.close();
            } catch (Exception e) {
                Logger.debug("control: closing the event subscription of {}: {}", peer, e.getMessage());
            }
        }
        for (Future<?> w : waits) w.cancel(true);
        dropQueued();
        socket.close();
        wakeup.close();
        server.closed(this);
    }

    /** Drops what is queued, closing the descriptors it would have passed. */
    private void dropQueued() {
        Outgoing o;
        while ((o = out.poll()) != null) o.closeFds();
    }

    @Override
    public String toString() { return peer; }
}
