package org.ddmapper.nbd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.ddmapper.api.PassedFd;

/** Raw socket descriptors for tests of passed sockets (what the control channel hands over). */
final class TestSockets {
    static {
        Native.register(TestSockets.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int connect(int fd, Memory addr, int len) throws LastErrorException;

    static native long write(int fd, com.sun.jna.Pointer buf, long n) throws LastErrorException;

    static native long read(int fd, com.sun.jna.Pointer buf, long n) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int pipe(int[] fds) throws LastErrorException;

    static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    /** A blocking AF_UNIX stream socket connected to {@code path}. */
    static int connectUnix(Path path) {
        int fd = socket(1, 1, 0);
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        Memory addr = new Memory(110);
        addr.clear();
        addr.setShort(0, (short) 1);
        addr.write(2, p, 0, p.length);
        connect(fd, addr, 2 + p.length + 1);
        return fd;
    }

    static void writeAll(int fd, byte[] data) {
        Memory m = new Memory(Math.max(1, data.length));
        m.write(0, data, 0, data.length);
        long done = 0;
        while (done < data.length) done += write(fd, m.share(done), data.length - done);
    }

    static byte[] readAll(int fd, int n) {
        Memory m = new Memory(Math.max(1, n));
        long done = 0;
        while (done < n) {
            long r = read(fd, m.share(done), n - done);
            if (r <= 0) throw new IllegalStateException("end of stream after " + done + " bytes");
            done += r;
        }
        return m.getByteArray(0, n);
    }

    /** Whether the descriptor is still open in this process. */
    static boolean isOpen(int fd) {
        try {
            fcntl(fd, 1 /* F_GETFD */, 0);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    /** A PassedFd as the control channel would hand one over. */
    static final class Passed implements PassedFd {
        private int fd;

        Passed(int fd) {
            this.fd = fd;
        }

        @Override
        public synchronized int fd() {
            return fd;
        }

        @Override
        public synchronized int take() {
            int f = fd;
            fd = -1;
            return f;
        }

        @Override
        public synchronized void close() {
            if (fd >= 0) {
                try {
                    TestSockets.close(fd);
                } catch (LastErrorException ignored) {
                    // already closed
                }
                fd = -1;
            }
        }
    }
}
