package org.ddmapper.control.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A connected AF_UNIX SOCK_SEQPACKET socket: each send is one whole item, each receive one whole
 * item (never split, never merged), with descriptors passed beside it by SCM_RIGHTS.
 *
 * <p>Struct layouts used here (Linux LP64): {@code msghdr} 56 bytes (name 0, namelen 8, iov 16,
 * iovlen 24, control 32, controllen 40, flags 48), {@code iovec} 16 bytes, {@code cmsghdr}
 * 16 bytes of header (len 0, level 8, type 12) and its data 8-aligned.
 *
 * <p>Receives happen on one thread at a time (they reuse one buffer); sends may come from any thread.
 */
public final class SeqpacketSocket implements AutoCloseable {
    private static final int MSGHDR = 56;
    private static final int IOVEC = 16;
    private static final int CMSGHDR = 16;
    /** Most descriptors one receive accepts before the kernel reports MSG_CTRUNC. */
    public static final int RECEIVE_FDS = 16;
    private static final short POLLRDHUP = 0x2000;

    private volatile int fd;
    private Memory receiveBuffer;
    private int receiveCapacity;

    private SeqpacketSocket(int fd) {
        this.fd = fd;
    }

    /** Wraps a descriptor that is a SOCK_SEQPACKET socket; this object now owns it. */
    public static SeqpacketSocket adopt(int fd) {
        return new SeqpacketSocket(fd);
    }

    /** Connects to a listening socket at {@code path}. */
    public static SeqpacketSocket connect(Path path) throws IOException {
        byte[] address = address(path);
        int fd = call("socket", () -> LibC.socket(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0));
        try {
            call(path + ": connect", () -> LibC.connect(fd, address, address.length));
            return new SeqpacketSocket(fd);
        } catch (IOException e) {
            Fds.close(fd);
            throw e;
        }
    }

    /** A connected pair (socketpair); both ends blocking and close-on-exec. */
    public static SeqpacketSocket[] pair() throws IOException {
        int[] sv = new int[2];
        call("socketpair", () -> LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, sv));
        return new SeqpacketSocket[] {new SeqpacketSocket(sv[0]), new SeqpacketSocket(sv[1])};
    }

    /** The descriptor (-1 once closed or detached). */
    public int fd() { return fd; }

    /** Gives the descriptor up: the caller owns it now and closing this object no longer closes it. */
    public synchronized int detach() {
        int d = fd;
        fd = -1;
        return d;
    }

    public PeerCred peerCred() throws IOException {
        byte[] ucred = new byte[12];
        int[] length = {12};
        call("getsockopt(SO_PEERCRED)", () -> LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, ucred, length));
        return new PeerCred(le32(ucred, 0), le32(ucred, 4), le32(ucred, 8));
    }

    public void setNonBlocking(boolean nonBlocking) throws IOException {
        try {
            Fds.setNonBlocking(fd, nonBlocking);
        } catch (LastErrorException e) {
            throw failure("fcntl", e);
        }
    }

    /** Asks for a send buffer of {@code bytes} (the kernel doubles it and caps it at net.core.wmem_max). */
    public void setSendBufferBytes(int bytes) throws IOException {
        call("setsockopt(SO_SNDBUF)", () -> LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, new int[] {bytes}, 4));
    }

    /**
     * Sends one item with {@code fds} (may be empty). Returns false, having sent nothing, when the
     * socket is non-blocking and its buffer is full; a blocking socket waits instead.
     */
    public boolean send(byte[] data, int offset, int length, int[] fds) throws IOException {
        int fdCount = fds == null ? 0 : fds.length;
        int control = fdCount == 0 ? 0 : CMSGHDR + align8(4 * fdCount);
        Memory m = new Memory(MSGHDR + IOVEC + control + Math.max(length, 1));
        m.clear(MSGHDR + IOVEC + control);
        long iov = MSGHDR;
        long cmsg = MSGHDR + IOVEC;
        long payload = cmsg + control;
        if (length > 0) m.write(payload, data, offset, length);
        m.setPointer(iov, m.share(payload));
        m.setLong(iov + 8, length);
        m.setPointer(16, m.share(iov));
        m.setLong(24, 1);
        if (fdCount > 0) {
            m.setLong(cmsg, CMSGHDR + 4L * fdCount);
            m.setInt(cmsg + 8, LibC.SOL_SOCKET);
            m.setInt(cmsg + 12, LibC.SCM_RIGHTS);
            for (int i = 0; i < fdCount; i++) m.setInt(cmsg + CMSGHDR + 4L * i, fds[i]);
            m.setPointer(32, m.share(cmsg));
            m.setLong(40, control);
        }
        while (true) {
            try {
                LibC.sendmsg(fd, m, LibC.MSG_NOSIGNAL);
                return true;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) continue;
                if (e.getErrorCode() == LibC.EAGAIN) return false;
                throw failure("sendmsg", e);
            }
        }
    }

    public boolean send(byte[] item, int... fds) throws IOException {
        return send(item, 0, item.length, fds);
    }

    /**
     * Receives one item of up to {@code capacity} bytes (a longer one is reported truncated
     * with its real size). With {@code wait} false returns null at once when nothing is queued.
     * Throws EOFException when the peer has closed. Passed descriptors arrive close-on-exec.
     */
    public Received receive(int capacity, boolean wait) throws IOException {
        if (receiveBuffer == null || receiveCapacity < capacity) {
            receiveCapacity = capacity;
            receiveBuffer = new Memory(MSGHDR + IOVEC + CMSGHDR + 4L * RECEIVE_FDS + Math.max(capacity, 1));
        }
        Memory m = receiveBuffer;
        int control = CMSGHDR + 4 * RECEIVE_FDS;
        long iov = MSGHDR;
        long cmsg = MSGHDR + IOVEC;
        long payload = cmsg + control;
        m.clear(MSGHDR + IOVEC + control);
        m.setPointer(iov, m.share(payload));
        m.setLong(iov + 8, capacity);
        m.setPointer(16, m.share(iov));
        m.setLong(24, 1);
        m.setPointer(32, m.share(cmsg));
        m.setLong(40, control);
        long n;
        int flags = LibC.MSG_TRUNC | LibC.MSG_CMSG_CLOEXEC | (wait ? 0 : LibC.MSG_DONTWAIT);
        while (true) {
            try {
                n = LibC.recvmsg(fd, m, flags);
                break;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) continue;
                if (e.getErrorCode() == LibC.EAGAIN) return null;
                throw failure("recvmsg", e);
            }
        }
        int[] fds = controlFds(m, cmsg, m.getLong(40));
        int msgFlags = m.getInt(48);
        int foreign = countForeign(m, cmsg, m.getLong(40));
        if (n == 0 && fds.length == 0 && peerHungUp()) throw new EOFException("peer closed the socket");
        int kept = (int) Math.min(n, capacity);
        byte[] data = m.getByteArray(payload, kept);
        return new Received(data, (int) Math.min(n, Integer.MAX_VALUE), fds, (msgFlags & LibC.MSG_CTRUNC) != 0, foreign);
    }

    /** Whether the peer has closed its end (nothing more will arrive once the queue is read). */
    public boolean peerHungUp() {
        short[] r = Fds.poll(new int[] {fd}, new short[] {POLLRDHUP}, 0);
        return (r[0] & (POLLRDHUP | LibC.POLLHUP)) != 0;
    }

    private static int[] controlFds(Pointer m, long cmsg, long controlLength) {
        int[] out = new int[0];
        long offset = 0;
        while (offset + CMSGHDR <= controlLength) {
            long length = m.getLong(cmsg + offset);
            if (length < CMSGHDR || offset + length > controlLength) break;
            if (m.getInt(cmsg + offset + 8) == LibC.SOL_SOCKET && m.getInt(cmsg + offset + 12) == LibC.SCM_RIGHTS) {
                int count = (int) ((length - CMSGHDR) / 4);
                int[] more = new int[out.length + count];
                System.arraycopy(out, 0, more, 0, out.length);
                for (int i = 0; i < count; i++) more[out.length + i] = m.getInt(cmsg + offset + CMSGHDR + 4L * i);
                out = more;
            }
            offset += align8(length);
        }
        return out;
    }

    private static int countForeign(Pointer m, long cmsg, long controlLength) {
        int foreign = 0;
        long offset = 0;
        while (offset + CMSGHDR <= controlLength) {
            long length = m.getLong(cmsg + offset);
            if (length < CMSGHDR || offset + length > controlLength) break;
            if (!(m.getInt(cmsg + offset + 8) == LibC.SOL_SOCKET && m.getInt(cmsg + offset + 12) == LibC.SCM_RIGHTS)) foreign++;
            offset += align8(length);
        }
        return foreign;
    }

    /** Stops both directions (wakes a thread blocked on this socket) without releasing the descriptor. */
    public void shutdown() {
        int d = fd;
        if (d < 0) return;
        try {
            LibC.shutdown(d, LibC.SHUT_RDWR);
        } catch (LastErrorException ignored) {
            // not connected any more
        }
    }

    @Override
    public synchronized void close() {
        int d = fd;
        fd = -1;
        Fds.close(d);
    }

    /** A sockaddr_un for {@code path}; paths longer than 107 bytes do not fit. */
    static byte[] address(Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length > 107) throw new IOException(path + ": socket path longer than 107 bytes");
        byte[] address = new byte[2 + name.length + 1];
        address[0] = (byte) LibC.AF_UNIX;
        System.arraycopy(name, 0, address, 2, name.length);
        return address;
    }

    interface Call {
        long run() throws LastErrorException;
    }

    static int call(String what, Call call) throws IOException {
        while (true) {
            try {
                return (int) call.run();
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) throw failure(what, e);
            }
        }
    }

    /** An IOException carrying the errno of a failed call. */
    static ErrnoException failure(String what, LastErrorException e) {
        return new ErrnoException(what, e.getErrorCode(), describe(e));
    }

    private static String describe(LastErrorException e) {
        String m = e.getMessage();
        if (m != null && m.startsWith("[")) {
            int close = m.indexOf(']');
            if (close > 0) m = m.substring(close + 1).trim();
        }
        return m == null || m.isEmpty() ? "errno " + e.getErrorCode() : m;
    }

    static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    static long align8(long n) { return (n + 7) & ~7L; }

    static int align8(int n) { return (n + 7) & ~7; }
}
