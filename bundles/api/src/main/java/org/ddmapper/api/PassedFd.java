package org.ddmapper.api;

/**
 * A file descriptor handed over with a message (SCM_RIGHTS on the control socket). Whoever
 * receives it owns it: adopt it or close it. Closing twice is harmless.
 */
public interface PassedFd extends AutoCloseable {

    /** The descriptor number in this process, or -1 once closed or taken over. */
    int fd();

    /** Takes the descriptor over: the caller now owns it and this object will no longer close it. */
    int take();

    @Override
    void close();
}
