package org.ddmapper.nbd;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.nbd.internal.BufferPool;
import org.ddmapper.nbd.internal.ExportAccess;
import org.ddmapper.nbd.internal.HostPort;
import org.ddmapper.nbd.internal.NbdServer;
import org.ddmapper.nbd.internal.ServerLimits;
import org.ddmapper.nbd.internal.ServerTls;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.tinylog.Logger;

/**
 * Serves every resumed mapped device as an NBD export. Listens where the framework property
 * {@code ddmapper.nbd} says ({@code HOST:PORT}, port 0 for any free port, {@code none} for no
 * TCP listener; default {@value #DEFAULT_ADDRESS}) and, when {@code ddmapper.nbd.socket} names a
 * path, on that Unix socket too. Each listener is announced as an {@link Endpoint} service once
 * it listens (kind {@code nbd} or {@code nbd-unix}, the real bound address), or with its
 * {@link Endpoint#failure()} when it could not.
 */
@Component(immediate = true)
public final class NbdServerComponent {
    public static final String ADDRESS_PROPERTY = "ddmapper.nbd";
    public static final String SOCKET_PROPERTY = "ddmapper.nbd.socket";
    public static final String DEFAULT_ADDRESS = "127.0.0.1:10809";
    /** {@code true} lets the server listen beyond loopback without requiring TLS. */
    public static final String INSECURE_PROPERTY = "ddmapper.nbd.insecure";

    private final List<ServiceRegistration<Endpoint>> endpoints = new ArrayList<>();
    private NbdServer server;

    @Reference
    private DeviceManager devices;

    @Activate
    void activate(BundleContext context) {
        ServerTls tls = ServerTls.OFF;
        ExportAccess access = ExportAccess.OPEN;
        String tlsFailure = null;
        try {
            tls = ServerTls.fromProperties(context::getProperty);
            String allow = context.getProperty(ExportAccess.FILE_PROPERTY);
            if (allow != null && !allow.isBlank()) access = ExportAccess.load(Path.of(allow.trim()));
        } catch (IllegalArgumentException e) {
            tlsFailure = e.getMessage();
        } catch (IOException e) {
            tlsFailure = ExportAccess.FILE_PROPERTY + ": " + describe(e);
        }
        server = new NbdServer(devices, ServerLimits.fromProperties(context::getProperty), BufferPool.SHARED, tls, access);
        String address = context.getProperty(ADDRESS_PROPERTY);
        if (address == null || address.isBlank()) address = DEFAULT_ADDRESS;
        if (!address.trim().equals("none")) {
            String failure = null;
            String shown = address.trim();
            try {
                HostPort hp = HostPort.parse(address);
                shown = hp.toString();
                if (tlsFailure != null) throw new IOException(tlsFailure);
                checkExposure(hp, tls, "true".equals(trim(context.getProperty(INSECURE_PROPERTY))));
                shown = server.listenTcp(hp.host(), hp.port()).address();
            } catch (IllegalArgumentException e) {
                failure = ADDRESS_PROPERTY + ": " + e.getMessage();
            } catch (IOException e) {
                failure = shown + ": " + describe(e);
            }
            announce(context, "nbd", shown, failure);
        }
        String socket = context.getProperty(SOCKET_PROPERTY);
        if (socket != null && !socket.isBlank()) {
            String failure = null;
            try {
                if (tlsFailure != null) throw new IOException(tlsFailure);
                server.listenUnix(Path.of(socket.trim()));
            } catch (IOException | RuntimeException e) {
                failure = socket.trim() + ": " + describe(e);
            }
            announce(context, "nbd-unix", socket.trim(), failure);
        }
    }

    /**
     * Plain text is safe on loopback only: an address beyond it needs {@code ddmapper.nbd.tls=require},
     * or {@value #INSECURE_PROPERTY}{@code =true} to serve it unencrypted anyway.
     */
    static void checkExposure(HostPort hp, ServerTls tls, boolean insecure) throws IOException {
        if (insecure || tls.mode() == ServerTls.Mode.REQUIRE) return;
        InetAddress a = InetAddress.getByName(hp.host());
        if (a.isLoopbackAddress()) return;
        throw new IOException("refusing to serve NBD " + (tls.mode() == ServerTls.Mode.OFF ? "in plain text"
                : "with TLS optional (ddmapper.nbd.tls=on)") + " beyond loopback; set ddmapper.nbd.tls=require"
                + " (with ddmapper.nbd.tls.certificates) or " + INSECURE_PROPERTY + "=true");
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<Endpoint> r : endpoints) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // already gone with the bundle
            }
        }
        endpoints.clear();
        if (server != null) server.close();
        server = null;
    }

    private void announce(BundleContext context, String kind, String address, String failure) {
        if (failure != null) Logger.error("nbd: cannot listen: {}", failure);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("kind", kind);
        props.put("address", address);
        if (failure != null) props.put("failure", failure);
        endpoints.add(context.registerService(Endpoint.class, new NbdEndpoint(kind, address, failure), props));
    }

    /** "address already in use" from "Address already in use". */
    private static String describe(Exception e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        return Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }

    /** An endpoint as a value. */
    record NbdEndpoint(String kind, String address, String failure) implements Endpoint {
    }
}
