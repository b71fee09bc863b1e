package org.ddmapper.control.ddlink;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;

/**
 * A ddlink client: the control socket or a link. {@link #call} sends one request and returns
 * its reply; events that arrive meanwhile (on a link) are kept for {@link #next}. One thread at
 * a time.
 */
public final class DdlinkClient implements AutoCloseable {
    private final SeqpacketSocket socket;
    private final long deviceId;
    private final String deviceName;
    private final Deque<Item> pending = new ArrayDeque<>();
    private int nextTag = 1;

    private DdlinkClient(SeqpacketSocket socket, long deviceId, String deviceName) {
        this.socket = socket;
        this.deviceId = deviceId;
        this.deviceName = deviceName;
    }

    public static DdlinkClient connect(Path controlSocket) throws IOException {
        return new DdlinkClient(SeqpacketSocket.connect(controlSocket), -1, null);
    }

    /** The underlying socket (for poll, or to send raw items). */
    public SeqpacketSocket socket() { return socket; }

    /** The device id of a link (-1 on the control socket). */
    public long deviceId() { return deviceId; }

    /** The device's name when the link was made (null on the control socket). */
    public String deviceName() { return deviceName; }

    /** One reply with the descriptors passed beside it. */
    public record Reply(Item item, int[] fds) {}

    /** Sends a request and waits for the reply with its tag. */
    public Reply exchange(Op op, int target, byte[] payload, int... fds) throws IOException {
        int tag = nextTag++;
        if (!socket.send(Item.request(op, tag, target, payload).encode(), fds))
            throw new IOException("the control socket is full");
        while (true) {
            Received r = socket.receive(Ddlink.MAX_ITEM_BYTES, true);
            if (r == null) {
                org.ddmapper.control.unix.Fds.poll(new int[] {socket.fd()}, new short[] {org.ddmapper.control.unix.Fds.POLLIN}, -1);
                continue;
            }
            Item item;
            try {
                item = Item.decode(r.data());
            } catch (Item.FramingException e) {
                r.closeFds();
                throw new IOException("malformed reply: " + e.getMessage());
            }
            if (item.op() == Op.EVENT.code() || item.op() == Op.EVENTS_LOST.code()) {
                r.closeFds();
                pending.add(item);
                continue;
            }
            if (item.tag() == tag) return new Reply(item, r.fds());
            r.closeFds();
        }
    }

    /** Sends a request; returns the reply item (whatever its status). */
    public Item call(Op op, int target, byte[] payload, int... fds) throws IOException {
        Reply reply = exchange(op, target, payload, fds);
        for (int fd : reply.fds()) org.ddmapper.control.unix.Fds.close(fd);
        return reply.item();
    }

    /** Sends a request; returns the reply's payload, or throws the server's error as a DmException. */
    public byte[] callOk(Op op, int target, byte[] payload, int... fds) throws IOException {
        return ok(call(op, target, payload, fds)).payload();
    }

    /** Opens a link to a device; the caller owns the returned client. */
    public DdlinkClient link(String name) throws IOException {
        Reply reply = exchange(Op.LINK, 0, PayloadWriter.of(name));
        ok(reply.item());
        if (reply.fds().length != 1) {
            for (int fd : reply.fds()) org.ddmapper.control.unix.Fds.close(fd);
            throw new IOException("LINK reply carried " + reply.fds().length + " descriptors instead of 1");
        }
        PayloadReader p = new PayloadReader(Op.LINK, reply.item().payload());
        long id = p.u64("device id");
        String linkedName = p.text("device name");
        return new DdlinkClient(SeqpacketSocket.adopt(reply.fds()[0]), id, linkedName);
    }

    /** The next item the server sent unasked (an EVENT on a link), or null when none is queued and {@code wait} is false. */
    public Item next(boolean wait) throws IOException {
        if (!pending.isEmpty()) return pending.poll();
        while (true) {
            Received r = socket.receive(Ddlink.MAX_ITEM_BYTES, false);
            if (r == null) {
                if (!wait) return null;
                org.ddmapper.control.unix.Fds.poll(new int[] {socket.fd()}, new short[] {org.ddmapper.control.unix.Fds.POLLIN}, -1);
                continue;
            }
            r.closeFds();
            try {
                return Item.decode(r.data());
            } catch (Item.FramingException e) {
                throw new IOException("malformed item: " + e.getMessage());
            }
        }
    }

    /** The item itself when its status is 0, else its error as a DmException. */
    public static Item ok(Item reply) {
        if (reply.status() < 0) throw new DmException(Errno.of(-reply.status()), reply.text());
        return reply;
    }

    @Override
    public void close() { socket.close(); }
}
