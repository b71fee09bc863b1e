package org.ddmapper.control.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** Plain file-descriptor helpers: close, kind and access mode, non-blocking flag, poll. */
public final class Fds {

    /** What a descriptor refers to. */
    public enum Kind { SOCKET, REGULAR_FILE, BLOCK_DEVICE, DIRECTORY, CHARACTER_DEVICE, PIPE, OTHER }

    /** Read/write access of an open file description. */
    public enum Access { READ_ONLY, WRITE_ONLY, READ_WRITE }

    public static final short POLLIN = LibC.POLLIN;
    public static final short POLLOUT = LibC.POLLOUT;
    public static final short POLLERR = LibC.POLLERR;
    public static final short POLLHUP = LibC.POLLHUP;
    public static final short POLLNVAL = LibC.POLLNVAL;

    private Fds() {}

    /** Closes a descriptor, ignoring errors (it is gone either way on Linux). */
    public static void close(int fd) {
        if (fd < 0) return;
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // EBADF or EINTR: on Linux the descriptor is released in both cases
        }
    }

    /**
     * What the descriptor refers to, from the mode of the file {@code /proc/self/fd/N} leads to.
     * Not fstat: glibc exports {@code fstat} only since 2.33 (before, it is an inline around
     * {@code __fxstat}), and one missing symbol would keep all of LibC from binding.
     */
    public static Kind kind(int fd) {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(Path.of("/proc/self/fd", Integer.toString(fd)), "unix:mode");
        } catch (IOException e) {
            throw new IllegalArgumentException("descriptor " + fd + " is not open (" + e.getMessage() + ")", e);
        }
        return switch (mode & LibC.S_IFMT) {
            case LibC.S_IFSOCK -> Kind.SOCKET;
            case LibC.S_IFREG -> Kind.REGULAR_FILE;
            case LibC.S_IFBLK -> Kind.BLOCK_DEVICE;
            case LibC.S_IFDIR -> Kind.DIRECTORY;
            case LibC.S_IFCHR -> Kind.CHARACTER_DEVICE;
            case LibC.S_IFIFO -> Kind.PIPE;
            default -> Kind.OTHER;
        };
    }

    public static Access access(int fd) {
        return switch (LibC.fcntl(fd, LibC.F_GETFL, 0) & LibC.O_ACCMODE) {
            case 0 -> Access.READ_ONLY;
            case 1 -> Access.WRITE_ONLY;
            default -> Access.READ_WRITE;
        };
    }

    /** The socket type (SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5) of a socket descriptor. */
    public static int socketType(int fd) {
        return intOption(fd, LibC.SO_TYPE);
    }

    /** Whether the descriptor is a terminal. */
    public static boolean isTerminal(int fd) {
        return LibC.isatty(fd) == 1;
    }

    /** Whether a socket is listening for connections (SO_ACCEPTCONN). */
    public static boolean isListening(int fd) {
        return intOption(fd, LibC.SO_ACCEPTCONN) != 0;
    }

    /** Whether a socket has a peer (getpeername does not fail with ENOTCONN). */
    public static boolean isConnected(int fd) {
        try {
            LibC.getpeername(fd, new byte[128], new int[] {128});
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.ENOTCONN) return false;
            throw e;
        }
    }

    private static int intOption(int fd, int name) {
        byte[] value = new byte[4];
        LibC.getsockopt(fd, LibC.SOL_SOCKET, name, value, new int[] {4});
        return (value[0] & 0xFF) | (value[1] & 0xFF) << 8 | (value[2] & 0xFF) << 16 | (value[3] & 0xFF) << 24;
    }

    public static void setNonBlocking(int fd, boolean nonBlocking) {
        int flags = LibC.fcntl(fd, LibC.F_GETFL, 0);
        int wanted = nonBlocking ? flags | LibC.O_NONBLOCK : flags & ~LibC.O_NONBLOCK;
        if (wanted != flags) LibC.fcntl(fd, LibC.F_SETFL, wanted);
    }

    public static boolean isNonBlocking(int fd) {
        return (LibC.fcntl(fd, LibC.F_GETFL, 0) & LibC.O_NONBLOCK) != 0;
    }

    /**
     * Waits until one of {@code fds} is ready for its {@code events}, or the timeout passes
     * (negative: no limit). Returns the ready events per descriptor (all zero on timeout).
     */
    public static short[] poll(int[] fds, short[] events, int timeoutMillis) {
        Memory pfds = new Memory(8L * fds.length);
        for (int i = 0; i < fds.length; i++) {
            pfds.setInt(8L * i, fds[i]);
            pfds.setShort(8L * i + 4, events[i]);
            pfds.setShort(8L * i + 6, (short) 0);
        }
        while (true) {
            try {
                LibC.poll(pfds, fds.length, timeoutMillis);
                break;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) throw e;
            }
        }
        short[] ready = new short[fds.length];
        for (int i = 0; i < fds.length; i++) ready[i] = pfds.getShort(8L * i + 6);
        return ready;
    }

    /** Every open descriptor of this process and what it points at ("socket:[123]", a path, ...). */
    public static Map<Integer, String> snapshot() {
        Map<Integer, String> out = new TreeMap<>();
        String[] names = new File("/proc/self/fd").list();
        if (names == null) return out;
        for (String n : names) {
            try {
                out.put(Integer.parseInt(n), Files.readSymbolicLink(Path.of("/proc/self/fd", n)).toString());
            } catch (IOException | NumberFormatException gone) {
                // closed between list and readlink: not open
            }
        }
        return out;
    }

    /**
     * The descriptors open now that were not open (to the same thing) in {@code before}, once none
     * remain or 3 s passed. Descriptors others closed meanwhile do not count: a leak is a new one.
     */
    public static Map<Integer, String> openedSince(Map<Integer, String> before) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 3000;
        while (true) {
            Map<Integer, String> added = new TreeMap<>(snapshot());
            added.entrySet().removeIf(e -> e.getValue().equals(before.get(e.getKey())));
            if (added.isEmpty() || System.currentTimeMillis() > deadline) return added;
            Thread.sleep(20);
        }
    }

    static Pointer nullPointer() { return Pointer.NULL; }
}
