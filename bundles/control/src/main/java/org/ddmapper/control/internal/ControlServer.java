package org.ddmapper.control.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Hashtable;
import org.ddmapper.api.BundleUpgrades;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.api.text.DmText;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.tinylog.Logger;

/**
 * The control socket as a Declarative Services component: serves ddlink on
 * {@code ddmapper.control.socket} (default {@code HOME/run/control.sock}) with the allow-list
 * {@code ETC/control.conf}, and registers an {@link Endpoint} of kind {@code control} once it
 * listens, or one with {@link Endpoint#failure()} when it cannot.
 */
@Component(immediate = true)
public final class ControlServer {
    static final String SOCKET_PROPERTY = "ddmapper.control.socket";

    @Reference
    private DeviceManager manager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile BundleUpgrades upgrades;

    private DdlinkServer server;
    private ServiceRegistration<Endpoint> endpoint;

    private Thread starting;

    /**
     * Starts listening on a thread of its own: loading JNA's native library and binding take a
     * moment that must not hold up the framework's start (bundles after this one, such as the
     * target types that boot tables wait for).
     */
    @Activate
    synchronized void activate(BundleContext context) {
        String home = context.getProperty("ddmapper.home");
        String etc = context.getProperty("ddmapper.etc");
        String configured = context.getProperty(SOCKET_PROPERTY);
        Path base = Path.of(home == null || home.isBlank() ? "var" : home).toAbsolutePath();
        Path socket = configured == null || configured.isBlank() ? base.resolve("run").resolve("control.sock") : Path.of(configured).toAbsolutePath();
        Path allowList = Path.of(etc == null || etc.isBlank() ? "etc" : etc).toAbsolutePath().resolve("control.conf");
        DdlinkServer candidate = new DdlinkServer(manager, socket, allowList, versionText(context));
        candidate.upgrades(() -> upgrades);
        starting = new Thread(() -> listen(context, candidate, socket), "ddlink-start");
        starting.setDaemon(true);
        starting.start();
    }

    private void listen(BundleContext context, DdlinkServer candidate, Path socket) {
        String failure = null;
        try {
            candidate.start();
        } catch (IOException | RuntimeException | LinkageError e) {
            failure = e.getMessage() == null ? e.toString() : e.getMessage();
            Logger.error("control: cannot listen: {}", failure);
        }
        synchronized (this) {
            if (Thread.currentThread() != starting) {
                if (failure == null) candidate.close();
                return;
            }
            if (failure == null) server = candidate;
            try {
                endpoint = context.registerService(Endpoint.class, new ControlEndpoint(socket.toString(), failure), properties());
            } catch (IllegalStateException stopping) {
                // the bundle is stopping; deactivate closes the server
            }
        }
    }

    @Deactivate
    void deactivate() {
        Thread t;
        synchronized (this) {
            t = starting;
        }
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            starting = null;
            if (endpoint != null) {
                try {
                    endpoint.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the framework is stopping
                }
                endpoint = null;
            }
            if (server != null) server.close();
            server = null;
        }
    }

    /** dmsetup version's two lines: the api bundle (the library every client links) and the device manager's bundle. */
    static String versionText(BundleContext context) {
        Bundle api = FrameworkUtil.getBundle(DmText.class);
        ServiceReference<DeviceManager> ref = context.getServiceReference(DeviceManager.class);
        String library = api == null ? "unknown" : api.getVersion().toString();
        String driver = ref == null ? "unknown" : ref.getBundle().getVersion().toString();
        return DmText.version(library, driver);
    }

    private static Hashtable<String, Object> properties() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("kind", "control");
        return p;
    }

    /** The registered endpoint value. */
    record ControlEndpoint(String address, String failure) implements Endpoint {
        @Override
        public String kind() { return "control"; }
    }
}
