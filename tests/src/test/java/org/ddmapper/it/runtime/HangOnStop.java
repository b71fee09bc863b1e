package org.ddmapper.it.runtime;

import java.util.concurrent.CountDownLatch;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * The activator of a test bundle whose stop never returns (StopTimeoutTest packs this class into a
 * jar of its own): a stand-in for a device teardown that drains for too long.
 */
public final class HangOnStop implements BundleActivator {

    @Override
    public void start(BundleContext context) {
    }

    @Override
    public void stop(BundleContext context) throws InterruptedException {
        new CountDownLatch(1).await();
    }
}
