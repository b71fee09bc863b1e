package org.ddmapper.control.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The few libc calls Java lacks for AF_UNIX SOCK_SEQPACKET sockets, SCM_RIGHTS and
 * SO_PEERCRED, bound by JNA direct mapping (about 100-150 ns per call over the syscall).
 * Constants and struct layouts are Linux LP64 (x86_64, aarch64). Failures throw
 * {@link LastErrorException} carrying errno. Every symbol here is exported by glibc 2.28 and
 * older (a symbol missing from the C library fails the whole class): no {@code fstat}, which
 * glibc exports only since 2.33.
 */
final class LibC {
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_SEQPACKET = 5;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_TYPE = 3;
    static final int SO_SNDBUF = 7;
    static final int SO_PEERCRED = 17;
    static final int SO_ACCEPTCONN = 30;
    static final int SCM_RIGHTS = 1;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int O_ACCMODE = 3;
    static final int O_NONBLOCK = 0x800;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;
    static final int SHUT_RDWR = 2;

    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOTCONN = 107;

    /** File type bits of st_mode. */
    static final int S_IFMT = 0xF000;
    static final int S_IFSOCK = 0xC000;
    static final int S_IFREG = 0x8000;
    static final int S_IFBLK = 0x6000;
    static final int S_IFDIR = 0x4000;
    static final int S_IFCHR = 0x2000;
    static final int S_IFIFO = 0x1000;

    static {
        Native.register(LibC.class, NativeLibrary.getInstance(com.sun.jna.Platform.C_LIBRARY_NAME));
    }

    private LibC() {}

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int socketpair(int domain, int type, int protocol, int[] sv) throws LastErrorException;

    static native int bind(int fd, byte[] addr, int addrLength) throws LastErrorException;

    static native int listen(int fd, int backlog) throws LastErrorException;

    static native int accept4(int fd, Pointer addr, Pointer addrLength, int flags) throws LastErrorException;

    static native int connect(int fd, byte[] addr, int addrLength) throws LastErrorException;

    static native long sendmsg(int fd, Pointer msghdr, int flags) throws LastErrorException;

    static native long recvmsg(int fd, Pointer msghdr, int flags) throws LastErrorException;

    static native int getsockopt(int fd, int level, int name, byte[] value, int[] valueLength) throws LastErrorException;

    static native int getpeername(int fd, byte[] addr, int[] addrLength) throws LastErrorException;

    static native int setsockopt(int fd, int level, int name, int[] value, int valueLength) throws LastErrorException;

    static native int poll(Pointer fds, long count, int timeoutMillis) throws LastErrorException;

    static native int eventfd(int initial, int flags) throws LastErrorException;

    static native long read(int fd, byte[] buffer, long count) throws LastErrorException;

    static native long write(int fd, byte[] buffer, long count) throws LastErrorException;

    static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    /** 1 for a terminal, else 0 (errno ENOTTY or EBADF, not thrown). */
    static native int isatty(int fd);

    static native int shutdown(int fd, int how) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;
}
