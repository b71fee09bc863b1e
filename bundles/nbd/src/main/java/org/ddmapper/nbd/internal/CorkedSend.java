package org.ddmapper.nbd.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import org.tinylog.Logger;

/**
 * send(2) with MSG_MORE on a JDK socket channel's descriptor: the one socket call Java has no
 * word for. Over TCP, a reply header sent this way and its large payload sent next leave as
 * nbdkit's do, the header in the payload's first segment (why that matters: {@link
 * NioTransport#writeCorked}).
 *
 * <p>The JDK keeps the descriptor behind {@code sun.nio.ch.SelChImpl#getFDVal}, which the launcher
 * exports ({@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}). Without that export, or
 * without JNA (an optional import of this bundle), {@link #descriptorOf} answers -1 and callers
 * write through the channel as before.
 */
final class CorkedSend {
    private static final Method GET_FD_VAL = lookup();

    private CorkedSend() {
    }

    /** The descriptor of {@code channel} for {@link #send}, or -1 when corked sends are not possible here. */
    static int descriptorOf(SocketChannel channel) {
        if (GET_FD_VAL == null) return -1;
        try {
            return (Integer) GET_FD_VAL.invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Sends what the socket takes now of {@code src} (a direct buffer) with MSG_MORE, without
     * blocking; returns the byte count, 0 when the socket is full.
     */
    static long send(int fd, ByteBuffer src, String peer) throws IOException {
        for (;;) {
            try {
                long n = LibC.send(fd, Native.getDirectBufferPointer(src).share(src.position()), src.remaining(),
                        LibC.MSG_MORE | LibC.MSG_DONTWAIT | LibC.MSG_NOSIGNAL);
                src.position(src.position() + (int) n);
                return n;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) continue;
                if (e.getErrorCode() == LibC.EAGAIN) return 0;
                throw new IOException("send to " + peer + ": errno " + e.getErrorCode(), e);
            }
        }
    }

    private static Method lookup() {
        try (SocketChannel probe = SocketChannel.open()) {
            Native.getNativeSize(int.class); // JNA is there (optional import)
            for (Class<?> c = probe.getClass(); c != null; c = c.getSuperclass()) {
                for (Class<?> i : c.getInterfaces()) {
                    if (!i.getName().equals("sun.nio.ch.SelChImpl")) continue;
                    Method m = i.getMethod("getFDVal");
                    m.invoke(probe);
                    Logger.info("nbd: TCP replies of {} bytes and more go out header first, with MSG_MORE",
                            OutputQueue.LARGE_PAYLOAD_BYTES);
                    return m;
                }
            }
            Logger.warn("nbd: socket channels have no SelChImpl; large TCP replies go out slower (no MSG_MORE)");
        } catch (Exception | LinkageError e) {
            Logger.warn("nbd: large TCP replies go out slower: no MSG_MORE ({}); the JVM option --add-exports"
                    + " java.base/sun.nio.ch=ALL-UNNAMED (bin/ddmapper passes it) and JNA enable it", e.toString());
        }
        return null;
    }
}
