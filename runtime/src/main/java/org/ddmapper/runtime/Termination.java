package org.ddmapper.runtime;

import org.osgi.framework.BundleException;
import org.osgi.framework.launch.Framework;
import sun.misc.Signal;

/**
 * SIGTERM (systemd, a test, kill) and SIGINT (Ctrl-C) stop the framework cleanly, after which the
 * launcher exits 0. The JVM's own handling would run shutdown hooks and exit 143; a stop requested
 * this way is the normal end of a service, so it gets status 0 (and Restart=on-failure leaves it down).
 */
final class Termination {

    private Framework framework;
    private boolean requested;

    /** Installs the handlers; from now on a signal stops the attached framework, or the boot. */
    void install() {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> request());
        }
    }

    /** The framework a signal should stop from now on; stops it at once if a signal came first. */
    synchronized void attach(Framework framework) {
        this.framework = framework;
        if (requested) {
            stop(framework);
        }
    }

    synchronized boolean requested() {
        return requested;
    }

    private synchronized void request() {
        requested = true;
        if (framework != null) {
            stop(framework);
        }
    }

    private static void stop(Framework framework) {
        try {
            framework.stop(); // asynchronous: the launcher's main thread sees it in waitForStop
        } catch (BundleException | IllegalStateException e) {
            System.err.println("ddmapper: cannot stop the framework: " + Describe.chain(e));
        }
    }
}
