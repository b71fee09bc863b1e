package org.ddmapper.nbd.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few libc calls a passed socket descriptor (and a corked reply header) needs, by JNA direct
 * mapping (cheapest per call).
 */
final class LibC {
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int O_NONBLOCK = Platform.isLinux() ? 04000 : 0x0004;
    static final int EFD_NONBLOCK = 04000;
    static final int EFD_CLOEXEC = 02000000;
    static final short POLLIN = 0x001;
    static final short POLLOUT = 0x004;
    static final short POLLERR = 0x008;
    static final short POLLHUP = 0x010;
    static final short POLLNVAL = 0x020;
    static final int SHUT_RDWR = 2;
    static final int SOL_SOCKET = 1;
    static final int SO_TYPE = 3;
    static final int SO_DOMAIN = 39;
    static final int SOCK_STREAM = 1;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int IPPROTO_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_MORE = 0x8000;

    static {
        Native.register(LibC.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {
    }

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long writev(int fd, Pointer iov, int iovcnt) throws LastErrorException;

    static native long send(int fd, Pointer buf, long len, int flags) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int shutdown(int fd, int how) throws LastErrorException;

    static native int getsockopt(int fd, int level, int name, Pointer value, Pointer length) throws LastErrorException;

    static native int setsockopt(int fd, int level, int name, Pointer value, int length) throws LastErrorException;
}
