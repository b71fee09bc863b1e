package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * A {@link Transport} over a java.nio socket channel (TCP or Unix domain) with its own selector.
 * On TCP, {@link #writeCorked} sends through the channel's descriptor with MSG_MORE when the JDK
 * lets us see the descriptor (see {@link CorkedSend}).
 */
public final class NioTransport implements Transport {
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final String peer;
    /** Descriptor for corked sends; -1 on Unix sockets (no Nagle there, nothing to cork) and once closed. Guarded by this. */
    private int corkFd;
    /** The descriptor for {@link #peerClosed}, -1 when the JDK hides it; used by the owner thread only. */
    private final int stateFd;
    private volatile boolean open = true;

    public NioTransport(SocketChannel channel) throws IOException {
        this.channel = channel;
        String p;
        try {
            SocketAddress remote = channel.getRemoteAddress();
            p = remote == null ? "unix socket" : remote.toString();
            if (p.isEmpty()) p = "unix socket";
        } catch (IOException e) {
            p = "unknown peer";
        }
        this.peer = p.startsWith("/") && p.indexOf(':') > 0 ? p.substring(1) : p;
        channel.configureBlocking(false);
        this.stateFd = descriptorOf(channel);
        if (channel.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
            // One reply per write only helps if Nagle does not hold the write back (qemu 7.2 stalls otherwise).
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            corkFd = stateFd;
        } else {
            corkFd = -1;
        }
        this.selector = Selector.open();
        this.key = channel.register(selector, 0);
    }

    private static int descriptorOf(SocketChannel channel) {
        try {
            return CorkedSend.descriptorOf(channel);
        } catch (LinkageError e) {
            return -1; // no JNA here (an optional import)
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return channel.write(srcs, offset, length);
    }

    /**
     * Over TCP, the header sent alone with MSG_MORE and the payload next (as nbdkit does) instead
     * of one writev of both: on this loopback with BBR, 1 MiB reads at queue depth 1 went from
     * 2091 to 2497 MB/s. With the writev, most segments left later from ACK processing, arrived
     * out of order, and were retransmitted in vain (about 60 in 5 s), which kept BBR's bandwidth
     * estimate low; a plain writev, one joined buffer, or two sends without MSG_MORE all do that.
     */
    @Override
    public long writeCorked(ByteBuffer src) throws IOException {
        if (!src.isDirect() || !src.hasRemaining()) return Transport.super.writeCorked(src);
        synchronized (this) {
            if (corkFd < 0) return Transport.super.writeCorked(src);
            if (!open) throw new ClosedChannelException();
            return CorkedSend.send(corkFd, src, peer);
        }
    }

    /** Whether {@link #writeCorked} really sends with MSG_MORE on this connection. */
    public boolean sendsCorked() {
        synchronized (this) {
            return corkFd >= 0;
        }
    }

    @Override
    public int await(int interest, long timeoutMillis) throws IOException {
        try {
            int ops = ((interest & READABLE) != 0 ? SelectionKey.OP_READ : 0)
                    | ((interest & WRITABLE) != 0 ? SelectionKey.OP_WRITE : 0);
            if (key.interestOps() != ops) key.interestOps(ops);
            int n = timeoutMillis < 0 ? selector.select() : timeoutMillis == 0 ? selector.selectNow()
                    : selector.select(timeoutMillis);
            if (n == 0 && selector.selectedKeys().isEmpty()) return 0;
            selector.selectedKeys().clear();
            int ready = key.readyOps();
            return ((ready & SelectionKey.OP_READ) != 0 ? READABLE : 0)
                    | ((ready & SelectionKey.OP_WRITE) != 0 ? WRITABLE : 0);
        } catch (ClosedSelectorException | CancelledKeyException e) {
            throw new ClosedChannelException();
        }
    }

    /**
     * Asks poll(2) for POLLRDHUP on the descriptor. Safe from the owner thread even while another
     * thread closes the channel: the JDK keeps a registered channel's descriptor open until its
     * selector lets go of it, which only the owner's next select does.
     */
    @Override
    public boolean peerClosed() {
        if (stateFd < 0 || !open) return !open;
        try {
            return PeerState.hungUp(stateFd);
        } catch (LinkageError e) {
            return false;
        }
    }

    @Override
    public void wakeup() {
        selector.wakeup();
    }

    @Override
    public void close() {
        synchronized (this) {
            // After this no corked send can reach the descriptor number, which may be reused once closed.
            open = false;
            corkFd = -1;
        }
        try {
            // A registered channel closes only once its selector lets go; shut it down now so the peer sees it.
            channel.shutdownInput();
            channel.shutdownOutput();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        selector.wakeup();
    }

    @Override
    public void release() {
        close();
        try {
            selector.close();
        } catch (IOException ignored) {
            // nothing more to free
        }
    }

    @Override
    public boolean isOpen() {
        return open && channel.isOpen();
    }

    @Override
    public String peer() {
        return peer;
    }
}
