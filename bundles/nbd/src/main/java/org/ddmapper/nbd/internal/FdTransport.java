package org.ddmapper.nbd.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;

/**
 * A {@link Transport} over a raw, connected stream-socket descriptor passed to us (SCM_RIGHTS):
 * non-blocking read, writev and poll through JNA, with an eventfd to wake the owner. Java cannot
 * wrap such a descriptor in a channel without opening JDK internals, hence the native calls.
 */
public final class FdTransport implements Transport {
    private static final int IOV_MAX = 64;
    private static final int SCRATCH_BYTES = 256 * 1024;

    private final int fd;
    private final int wakeFd;
    private final String peer;
    private final boolean tcp;
    private final Memory pollFds = new Memory(16);
    private final Memory iov = new Memory(16L * IOV_MAX);
    private final Memory one = new Memory(8);
    private final Memory drain = new Memory(8);
    private ByteBuffer readScratch;
    private ByteBuffer writeScratch;
    private volatile boolean open = true;
    private boolean released;

    private FdTransport(int fd, int wakeFd, String peer, boolean tcp) {
        this.fd = fd;
        this.tcp = tcp;
        this.wakeFd = wakeFd;
        this.peer = peer;
        one.setLong(0, 1);
    }

    /**
     * Takes over {@code fd}: checks it is a stream socket, makes it non-blocking (and sets
     * TCP_NODELAY on a TCP socket). On failure the descriptor is left to the caller.
     */
    public static FdTransport adopt(int fd, String peer) throws IOException {
        Memory value = new Memory(4);
        Memory length = new Memory(4);
        try {
            length.setInt(0, 4);
            LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_TYPE, value, length);
            if (value.getInt(0) != LibC.SOCK_STREAM) throw new IOException("descriptor " + fd + " is not a stream socket");
            length.setInt(0, 4);
            LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_DOMAIN, value, length);
            int domain = value.getInt(0);
            boolean tcp = domain == LibC.AF_INET || domain == LibC.AF_INET6;
            if (tcp) {
                value.setInt(0, 1);
                LibC.setsockopt(fd, LibC.IPPROTO_TCP, LibC.TCP_NODELAY, value, 4);
            }
            int fl = LibC.fcntl(fd, LibC.F_GETFL, 0);
            LibC.fcntl(fd, LibC.F_SETFL, fl | LibC.O_NONBLOCK);
            int wake = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
            return new FdTransport(fd, wake, peer, tcp);
        } catch (LastErrorException e) {
            throw new IOException("descriptor " + fd + ": " + describe(e), e);
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!open) throw new ClosedChannelException();
        if (!dst.hasRemaining()) return 0;
        if (!dst.isDirect()) {
            if (readScratch == null) readScratch = ByteBuffer.allocateDirect(SCRATCH_BYTES);
            readScratch.clear().limit(Math.min(SCRATCH_BYTES, dst.remaining()));
            int n = read(readScratch);
            if (n > 0) dst.put(readScratch.flip());
            return n;
        }
        Pointer p = Native.getDirectBufferPointer(dst).share(dst.position());
        for (;;) {
            try {
                long n = LibC.read(fd, p, dst.remaining());
                if (n == 0) return -1;
                dst.position(dst.position() + (int) n);
                return (int) n;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) continue;
                if (e.getErrorCode() == LibC.EAGAIN) return 0;
                throw new IOException(describe(e), e);
            }
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        if (!open) throw new ClosedChannelException();
        int count = 0;
        long total = 0;
        ByteBuffer copied = null;
        for (int i = offset; i < offset + length && count < IOV_MAX; i++) {
            ByteBuffer b = srcs[i];
            if (!b.hasRemaining()) continue;
            Pointer base;
            int n;
            if (b.isDirect()) {
                base = Native.getDirectBufferPointer(b).share(b.position());
                n = b.remaining();
            } else {
                // Heap data goes out through a scratch buffer, as much as fits; the caller retries the rest.
                if (count > 0) break;
                if (writeScratch == null) writeScratch = ByteBuffer.allocateDirect(SCRATCH_BYTES);
                n = Math.min(SCRATCH_BYTES, b.remaining());
                writeScratch.clear().put(b.duplicate().limit(b.position() + n)).flip();
                base = Native.getDirectBufferPointer(writeScratch);
                copied = b;
            }
            iov.setPointer(16L * count, base);
            iov.setLong(16L * count + 8, n);
            count++;
            total += n;
            if (copied != null) break;
        }
        if (count == 0) return 0;
        long written;
        for (;;) {
            try {
                written = LibC.writev(fd, iov, count);
                break;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) continue;
                if (e.getErrorCode() == LibC.EAGAIN) return 0;
                throw new IOException(describe(e), e);
            }
        }
        long left = written;
        for (int i = offset; i < offset + length && left > 0; i++) {
            ByteBuffer b = srcs[i];
            int step = (int) Math.min(left, b.remaining());
            b.position(b.position() + step);
            left -= step;
        }
        return written;
    }

    /** Over TCP, a send with MSG_MORE (see {@link NioTransport#writeCorked}). */
    @Override
    public long writeCorked(ByteBuffer src) throws IOException {
        if (!open) throw new ClosedChannelException();
        if (!tcp || !src.isDirect() || !src.hasRemaining()) return Transport.super.writeCorked(src);
        return CorkedSend.send(fd, src, peer);
    }

    @Override
    public int await(int interest, long timeoutMillis) throws IOException {
        if (!open) throw new ClosedChannelException();
        short events = (short) (((interest & READABLE) != 0 ? LibC.POLLIN : 0) | ((interest & WRITABLE) != 0 ? LibC.POLLOUT : 0));
        pollFds.setInt(0, fd);
        pollFds.setShort(4, events);
        pollFds.setShort(6, (short) 0);
        pollFds.setInt(8, wakeFd);
        pollFds.setShort(12, LibC.POLLIN);
        pollFds.setShort(14, (short) 0);
        int timeout = timeoutMillis < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE, timeoutMillis);
        try {
            LibC.poll(pollFds, 2, timeout);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EINTR) return 0;
            throw new IOException(describe(e), e);
        }
        short woken = pollFds.getShort(14);
        if (woken != 0) {
            try {
                LibC.read(wakeFd, drain, 8);
            } catch (LastErrorException ignored) {
                // already drained
            }
        }
        short revents = pollFds.getShort(6);
        int ready = 0;
        boolean broken = (revents & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0;
        if ((revents & LibC.POLLIN) != 0 || broken) ready |= READABLE & interest;
        if ((revents & LibC.POLLOUT) != 0 || broken) ready |= WRITABLE & interest;
        return ready;
    }

    @Override
    public void wakeup() {
        try {
            LibC.write(wakeFd, one, 8);
        } catch (LastErrorException ignored) {
            // the counter is already non-zero (EAGAIN) or the descriptor is gone
        }
    }

    @Override
    public void close() {
        if (!open) return;
        open = false;
        try {
            LibC.shutdown(fd, LibC.SHUT_RDWR);
        } catch (LastErrorException ignored) {
            // not connected any more
        }
        wakeup();
    }

    @Override
    public synchronized void release() {
        close();
        if (released) return;
        released = true;
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // nothing more to do
        }
        try {
            LibC.close(wakeFd);
        } catch (LastErrorException ignored) {
            // nothing more to do
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public String peer() {
        return peer;
    }

    private static String describe(LastErrorException e) {
        return switch (e.getErrorCode()) {
            case 32 -> "broken pipe";
            case 104 -> "connection reset by peer";
            case 107 -> "socket not connected";
            case 110 -> "connection timed out";
            case 9 -> "bad file descriptor";
            case 88 -> "not a socket";
            default -> "errno " + e.getErrorCode();
        };
    }
}
