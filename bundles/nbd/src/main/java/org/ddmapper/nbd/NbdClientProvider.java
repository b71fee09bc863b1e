package org.ddmapper.nbd;

import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.PassedFd;
import org.ddmapper.nbd.internal.NbdConnector;
import org.ddmapper.spi.BlockDeviceProvider;
import org.osgi.service.component.annotations.Component;

/**
 * Opens {@code nbd://HOST[:PORT]/EXPORT} and {@code nbd+unix:///EXPORT?socket=PATH} references
 * as block devices (an NBD client per device; many requests in flight; a lost connection fails
 * its I/O with ENOTCONN and is never re-established here — the multipath path monitor decides),
 * and runs the client over sockets passed with a message.
 */
@Component(service = BlockDeviceProvider.class)
public final class NbdClientProvider implements BlockDeviceProvider {
    /** How long connecting and the handshake may take. */
    static final long CONNECT_TIMEOUT_MILLIS = 10_000;

    private final NbdConnector connector = new NbdConnector(CONNECT_TIMEOUT_MILLIS);

    @Override
    public Set<String> schemes() {
        return Set.of("nbd", "nbd+unix");
    }

    @Override
    public BlockDevice open(String reference, boolean readOnly) {
        return connector.open(reference, readOnly);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        return connector.adopt(reference, socket, negotiated);
    }
}
