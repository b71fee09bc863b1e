package org.ddmapper.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The endpoints the ready line reports. The NBD server and the control server each register an
 * {@code org.ddmapper.api.Endpoint} service once they listen, or with {@code failure()} set when they
 * could not. The launcher waits for the kinds that the installed bundles will provide: a bundle that
 * declares no components (Service-Component header) is not waited for, and its kind reads "none".
 */
final class Endpoints {

    static final String SERVICE = "org.ddmapper.api.Endpoint";
    static final String NONE = "none";
    private static final long POLL_MILLIS = 25;

    /** An endpoint kind and the bundle that provides it. */
    record Expected(String kind, String bundle) {
    }

    /** What one Endpoint service says. */
    record Seen(String kind, String address, String failure) {
    }

    private Endpoints() {
    }

    /** The kinds to wait for, given the installed bundles and the options. */
    static List<Expected> expected(BundleContext context, Options options) {
        List<Expected> kinds = new ArrayList<>();
        if (declaresComponents(context, "org.ddmapper.nbd")) {
            if (!options.nbd().equals(Options.NONE)) {
                kinds.add(new Expected("nbd", "org.ddmapper.nbd"));
            }
            if (!options.nbdSocket().isEmpty()) {
                kinds.add(new Expected("nbd-unix", "org.ddmapper.nbd"));
            }
        }
        if (declaresComponents(context, "org.ddmapper.control")) {
            kinds.add(new Expected("control", "org.ddmapper.control"));
        }
        return kinds;
    }

    /**
     * Waits until every expected kind has registered, and returns kind → address. Fails with one line when
     * an endpoint reports a failure or {@code timeout} passes; returns early (with what it has) when
     * {@code stopping} turns true.
     */
    static Map<String, String> await(BundleContext context, List<Expected> expected, Duration timeout,
                                     BooleanSupplier stopping) throws LaunchFailure, InterruptedException {
        Map<String, String> addresses = new LinkedHashMap<>();
        if (expected.isEmpty()) {
            return addresses;
        }
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, SERVICE, null);
        tracker.open(true);
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (ServiceReference<Object> ref : references(tracker)) {
                    Object service = tracker.getService(ref);
                    if (service == null) {
                        continue;
                    }
                    Seen seen = read(service, ref);
                    if (seen.failure() != null) {
                        throw LaunchFailure.failed(seen.kind() + " endpoint failed: " + Describe.oneLine(seen.failure()));
                    }
                    addresses.putIfAbsent(seen.kind(), seen.address());
                }
                List<Expected> missing = expected.stream().filter(e -> !addresses.containsKey(e.kind())).toList();
                if (missing.isEmpty() || stopping.getAsBoolean()) {
                    return addresses;
                }
                if (System.nanoTime() > deadline) {
                    Expected first = missing.get(0);
                    throw LaunchFailure.failed("timed out after " + timeout.toSeconds() + " s waiting for the "
                            + first.kind() + " endpoint of bundle " + first.bundle()
                            + " (see the log in HOME/log/ddmapper.log)");
                }
                Thread.sleep(POLL_MILLIS);
            }
        } finally {
            tracker.close();
        }
    }

    private static List<ServiceReference<Object>> references(ServiceTracker<Object, Object> tracker) {
        ServiceReference<Object>[] refs = tracker.getServiceReferences();
        return refs == null ? List.of() : List.of(refs);
    }

    private static Seen read(Object service, ServiceReference<Object> ref) throws LaunchFailure {
        try {
            String kind = (String) Services.call(service, SERVICE, "kind");
            String address = (String) Services.call(service, SERVICE, "address");
            String failure = (String) Services.call(service, SERVICE, "failure");
            return new Seen(kind, address, failure);
        } catch (Exception e) {
            throw LaunchFailure.failed("the Endpoint service of bundle " + ref.getBundle().getSymbolicName()
                    + " cannot be read: " + Describe.chain(e));
        }
    }

    /** Whether the installed bundle {@code symbolicName} declares Declarative Services components. */
    static boolean declaresComponents(BundleContext context, String symbolicName) {
        for (Bundle bundle : context.getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName()) && bundle.getHeaders("").get("Service-Component") != null) {
                return true;
            }
        }
        return false;
    }
}
