package org.ddmapper.runtime;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The devices the core brings up at boot (saved state and etc/tables/) start parked until the
 * target types their tables need are registered. The ready line promises they serve: the launcher
 * waits until no device is parked, at most the core's type wait ({@value #TYPE_WAIT_KEY}, after
 * which the core has logged, discarded or failed each one) plus a little, and names on stderr any
 * device still waiting then. Read through {@code DeviceManager.list()} (see {@link Services}).
 */
final class BootDevices {

    static final String SERVICE = "org.ddmapper.api.DeviceManager";
    static final String TYPE_WAIT_KEY = "ddmapper.core.typeWaitMillis";
    private static final long DEFAULT_TYPE_WAIT_MILLIS = 30_000;
    private static final long SLACK_MILLIS = 2_000;
    private static final long POLL_MILLIS = 25;

    /** One device that still waits for a target type. */
    record Parked(String name, String missingType) {
    }

    private BootDevices() {
    }

    /**
     * Waits until the core serves every boot device or gave up on it; returns the devices still
     * parked when the wait ended (each also reported on {@code err}). Returns at once without the
     * core bundle, and early when {@code stopping} turns true.
     */
    static List<Parked> await(BundleContext context, Duration readyTimeout, BooleanSupplier stopping, PrintStream err)
            throws LaunchFailure, InterruptedException {
        if (!Endpoints.declaresComponents(context, "org.ddmapper.core")) {
            return List.of();
        }
        long limitMillis = Math.min(readyTimeout.toMillis(), typeWaitMillis(context) + SLACK_MILLIS);
        long deadline = System.nanoTime() + limitMillis * 1_000_000L;
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, SERVICE, null);
        tracker.open(true);
        try {
            List<Parked> parked = List.of();
            while (!stopping.getAsBoolean()) {
                Object manager = tracker.getService();
                if (manager == null) {
                    if (System.nanoTime() - deadline > 0) {
                        throw LaunchFailure.failed("timed out after " + limitMillis / 1000 + " s waiting for the core's "
                                + "DeviceManager (see the log in HOME/log/ddmapper.log)");
                    }
                } else {
                    parked = parked(manager);
                    if (parked.isEmpty()) {
                        return parked;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        for (Parked p : parked) {
                            err.println("ddmapper: device '" + p.name() + "' still waits for target type '" + p.missingType()
                                    + "' (see the log in HOME/log/ddmapper.log)");
                        }
                        return parked;
                    }
                }
                Thread.sleep(POLL_MILLIS);
            }
            return parked;
        } finally {
            tracker.close();
        }
    }

    private static List<Parked> parked(Object manager) throws LaunchFailure {
        try {
            List<Parked> parked = new ArrayList<>();
            for (Object info : (List<?>) Services.call(manager, SERVICE, "list")) {
                Object missing = info.getClass().getMethod("missingType").invoke(info);
                if (missing != null) {
                    parked.add(new Parked((String) info.getClass().getMethod("name").invoke(info), missing.toString()));
                }
            }
            return parked;
        } catch (Exception e) {
            throw LaunchFailure.failed("the core's DeviceManager cannot be read: " + Describe.chain(e));
        }
    }

    private static long typeWaitMillis(BundleContext context) {
        String value = context.getProperty(TYPE_WAIT_KEY);
        try {
            return value == null ? DEFAULT_TYPE_WAIT_MILLIS : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return DEFAULT_TYPE_WAIT_MILLIS; // the core reports its own configuration errors
        }
    }
}
