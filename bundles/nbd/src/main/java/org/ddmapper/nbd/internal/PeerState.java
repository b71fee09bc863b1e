package org.ddmapper.nbd.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * What java.nio does not tell about a connected socket: whether its peer has hung up while bytes
 * it sent are still unread. A selector reports such a socket readable, but only reading up to the
 * end shows the hang-up, and a connection that is not taking requests (it waits for memory with
 * its input buffer full) must not read. poll(2) with POLLRDHUP tells without reading. Needs JNA
 * and the socket's descriptor (see {@link CorkedSend#descriptorOf}); callers without either
 * cannot tell.
 */
final class PeerState {
    /** Linux: the peer shut down its writing side (a close or a hang-up). */
    private static final short POLLRDHUP = 0x2000;

    private PeerState() {
    }

    /** Whether the peer of socket {@code fd} hung up (or the socket broke); false when it is still there. */
    static boolean hungUp(int fd) {
        Memory pollFd = new Memory(8);
        pollFd.setInt(0, fd);
        pollFd.setShort(4, POLLRDHUP);
        pollFd.setShort(6, (short) 0);
        try {
            if (LibC.poll(pollFd, 1, 0) <= 0) return false;
        } catch (LastErrorException e) {
            return false; // EINTR or ENOMEM: ask again next time
        }
        int revents = pollFd.getShort(6);
        return (revents & (POLLRDHUP | LibC.POLLHUP | LibC.POLLERR | LibC.POLLNVAL)) != 0;
    }
}
