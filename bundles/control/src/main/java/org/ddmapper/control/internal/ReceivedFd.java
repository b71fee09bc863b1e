package org.ddmapper.control.internal;

import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.PassedFd;
import org.ddmapper.control.unix.Fds;

/** A descriptor received by SCM_RIGHTS and handed to a target; closed by the server unless taken. */
final class ReceivedFd implements PassedFd {
    private final AtomicInteger fd;

    ReceivedFd(int fd) {
        this.fd = new AtomicInteger(fd);
    }

    @Override
    public int fd() { return fd.get(); }

    @Override
    public int take() { return fd.getAndSet(-1); }

    @Override
    public void close() { Fds.close(fd.getAndSet(-1)); }

    @Override
    public String toString() { return "fd " + fd.get(); }
}
