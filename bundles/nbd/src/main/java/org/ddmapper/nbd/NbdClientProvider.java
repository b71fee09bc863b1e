package org.ddmapper.nbd;

import java.nio.file.Path;
import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.PassedFd;
import org.ddmapper.nbd.internal.ClientTls;
import org.ddmapper.nbd.internal.NbdConnector;
import org.ddmapper.spi.BlockDeviceProvider;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * Opens {@code nbd://HOST[:PORT]/EXPORT} and {@code nbd+unix:///EXPORT?socket=PATH} references,
 * and their TLS forms {@code nbds://} and {@code nbds+unix://} (certificates from the framework
 * property {@code ddmapper.nbd.client.tls.certificates} or the reference's {@code tls-certificates=}),
 * as block devices (an NBD client per device; many requests in flight; a lost connection fails
 * its I/O with ENOTCONN and is never re-established here — the multipath path monitor decides),
 * and runs the client over sockets passed with a message.
 */
@Component(service = BlockDeviceProvider.class)
public final class NbdClientProvider implements BlockDeviceProvider {
    /** How long connecting and the handshake may take. */
    static final long CONNECT_TIMEOUT_MILLIS = 10_000;

    private NbdConnector connector = new NbdConnector(CONNECT_TIMEOUT_MILLIS);

    @Activate
    void activate(BundleContext context) {
        String dir = context.getProperty(ClientTls.DIR_PROPERTY);
        connector = new NbdConnector(CONNECT_TIMEOUT_MILLIS,
                new ClientTls(dir == null || dir.isBlank() ? null : Path.of(dir.trim())));
    }

    @Override
    public Set<String> schemes() {
        return Set.of("nbd", "nbd+unix", "nbds", "nbds+unix");
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
