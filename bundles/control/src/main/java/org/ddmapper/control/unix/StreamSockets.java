package org.ddmapper.control.unix;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Connected stream sockets as raw descriptors, to pass with a message (a java.net socket cannot
 * give up its descriptor). The caller owns the returned descriptor.
 */
public final class StreamSockets {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;

    private StreamSockets() {}

    /** A TCP connection to {@code host:port}. */
    public static int connectTcp(String host, int port) throws IOException {
        InetAddress address = InetAddress.getByName(host);
        byte[] sockaddr;
        int family;
        if (address instanceof Inet6Address v6) {
            family = AF_INET6;
            sockaddr = new byte[28];
            sockaddr[0] = (byte) AF_INET6;
            System.arraycopy(v6.getAddress(), 0, sockaddr, 8, 16);
            int scope = v6.getScopeId();
            for (int i = 0; i < 4; i++) sockaddr[24 + i] = (byte) (scope >>> (8 * i));
        } else {
            family = AF_INET;
            sockaddr = new byte[16];
            sockaddr[0] = (byte) AF_INET;
            System.arraycopy(address.getAddress(), 0, sockaddr, 4, 4);
        }
        sockaddr[2] = (byte) (port >>> 8);
        sockaddr[3] = (byte) port;
        return connect(family, sockaddr, host + ":" + port);
    }

    /** A connection to a Unix stream socket at {@code path}. */
    public static int connectUnix(Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length > 107) throw new IOException(path + ": socket path longer than 107 bytes");
        byte[] sockaddr = new byte[2 + name.length + 1];
        sockaddr[0] = (byte) LibC.AF_UNIX;
        System.arraycopy(name, 0, sockaddr, 2, name.length);
        return connect(LibC.AF_UNIX, sockaddr, path.toString());
    }

    private static int connect(int family, byte[] sockaddr, String where) throws IOException {
        int fd = SeqpacketSocket.call("socket", () -> LibC.socket(family, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0));
        try {
            SeqpacketSocket.call(where + ": connect", () -> LibC.connect(fd, sockaddr, sockaddr.length));
            return fd;
        } catch (IOException e) {
            Fds.close(fd);
            throw e;
        }
    }
}
