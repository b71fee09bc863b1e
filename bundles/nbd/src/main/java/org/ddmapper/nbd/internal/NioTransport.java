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

/** A {@link Transport} over a java.nio socket channel (TCP or Unix domain) with its own selector. */
public final class NioTransport implements Transport {
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final String peer;
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
        if (channel.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
            // One reply per write only helps if Nagle does not hold the write back (qemu 7.2 stalls otherwise).
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        this.selector = Selector.open();
        this.key = channel.register(selector, 0);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return channel.write(srcs, offset, length);
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

    @Override
    public void wakeup() {
        selector.wakeup();
    }

    @Override
    public void close() {
        open = false;
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
