package org.ddmapper.control.unix;

/**
 * One item read from a SOCK_SEQPACKET socket.
 *
 * @param data            the bytes received (at most the buffer's size)
 * @param itemBytes       the item's real size; larger than {@code data.length} when it was truncated
 * @param fds             the descriptors passed with it (SCM_RIGHTS), now owned by the receiver
 * @param fdsTruncated    the kernel dropped descriptors that did not fit (MSG_CTRUNC)
 * @param foreignControls control messages of another kind than SCM_RIGHTS (ignored, counted)
 */
public record Received(byte[] data, int itemBytes, int[] fds, boolean fdsTruncated, int foreignControls) {

    /** Whether the item was larger than the buffer and its tail was lost. */
    public boolean truncated() { return itemBytes > data.length; }

    /** Closes every passed descriptor (the receiver's duty when it does not hand them on). */
    public void closeFds() {
        for (int fd : fds) Fds.close(fd);
    }
}
