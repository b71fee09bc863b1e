package org.ddmapper.runtime;

import org.osgi.framework.BundleException;
import org.osgi.framework.launch.Framework;
import sun.misc.Signal;

/**
 * SIGTERM (systemd, a test, kill) stops the framework cleanly, after which the launcher exits 0. The
 * JVM's own handling would run shutdown hooks and exit 143; a stop requested this way is the normal
 * end of a service, so it gets status 0 (and Restart=on-failure leaves it down).
 *
 * <p>SIGINT (Ctrl-C) does the same, except while the console owns the terminal: then it is the
 * console's, as in any shell — it interrupts the command running at the prompt ({@link ConsoleJobs}),
 * or does nothing at the prompt itself; Ctrl-D, {@code stop 0} or SIGTERM end the appliance.
 */
final class Termination {

    private Framework framework;
    private boolean requested;
    private long requestedAt;
    private volatile Runnable interrupt;

    /** Installs the handlers; from now on a signal stops the attached framework, or the boot. */
    void install() {
        Signal.handle(new Signal("TERM"), signal -> request());
        Signal.handle(new Signal("INT"), signal -> {
            Runnable console = interrupt;
            if (console != null) {
                console.run();
            } else {
                request();
            }
        });
    }

    /** From now on SIGINT runs {@code console} (the console owns the terminal) instead of stopping. */
    void interruptInstead(Runnable console) {
        interrupt = console;
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

    /** System.nanoTime() of the first stop request; meaningful once {@link #requested()}. */
    synchronized long requestedAt() {
        return requestedAt;
    }

    private synchronized void request() {
        if (!requested) {
            requested = true;
            requestedAt = System.nanoTime();
        }
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
