package org.ddmapper.control.internal;

import org.ddmapper.control.unix.Fds;

/** An encoded item waiting to be sent, with descriptors to pass (the server's copies, closed once sent). */
record Outgoing(byte[] item, int[] fds, boolean event) {

    Outgoing {
        if (fds == null) fds = new int[0];
    }

    void closeFds() {
        for (int fd : fds) Fds.close(fd);
    }
}
