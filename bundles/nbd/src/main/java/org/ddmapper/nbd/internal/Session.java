package org.ddmapper.nbd.internal;

import org.ddmapper.api.DeviceManager;

/**
 * What a handshake agreed: the export and its open device, and the negotiated features.
 *
 * @param name             the export's (device's) name
 * @param device           the open device, owned by the connection from now on
 * @param sizeBytes        the size announced to the client
 * @param flags            the transmission flags announced
 * @param minBlockBytes    the minimum block size announced (requests must be aligned to it)
 * @param structured       whether structured replies were negotiated
 * @param baseAllocation   whether the base:allocation metadata context was selected for this export
 */
public record Session(String name, DeviceManager.OpenDevice device, long sizeBytes, int flags, int minBlockBytes,
                      boolean structured, boolean baseAllocation) {

    public boolean readOnly() {
        return (flags & Nbd.FLAG_READ_ONLY) != 0;
    }
}
