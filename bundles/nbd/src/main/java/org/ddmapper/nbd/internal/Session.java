package org.ddmapper.nbd.internal;

import org.ddmapper.api.DeviceManager;

/**
 * What a handshake agreed: the export and its open device, and the negotiated features.
 *
 * @param name             the export's (device's) name
 * @param device           the open device, owned by the connection from now on
 * @param sizeBytes        the size announced to the client
 * @param flags            the transmission flags announced
 * @param minBlockBytes    the minimum block size the client agreed to (requests must be aligned to it): the
 *                         device's block when it asked for block sizes in NBD_OPT_GO, else 1
 * @param blockBytes       the device's block: requests not made of whole ones go through {@code unaligned}
 * @param structured       whether structured replies were negotiated
 * @param baseAllocation   whether the base:allocation metadata context was selected for this export
 * @param unaligned        the export's unaligned-request state, shared with its other connections
 */
public record Session(String name, DeviceManager.OpenDevice device, long sizeBytes, int flags, int minBlockBytes,
                      int blockBytes, boolean structured, boolean baseAllocation, UnalignedRequests unaligned) {

    public boolean readOnly() {
        return (flags & Nbd.FLAG_READ_ONLY) != 0;
    }

    /** Gives back what the session holds (the device and its share of the export's state). */
    public void close() {
        unaligned.close();
        device.close();
    }
}
