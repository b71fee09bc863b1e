package org.ddmapper.it.targets;

import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;

/** A framework with the built bundles and its DeviceManager, once the target types are registered (I/O: support.Io). */
final class TargetsFixture implements AutoCloseable {
    /** The target types of bundles target-linear and target-fault. */
    static final List<String> OUR_TYPES = List.of("linear", "striped", "error", "zero", "delay", "flakey", "log-writes");

    final EmbeddedFramework fw;
    final DeviceManager dm;

    TargetsFixture() {
        fw = EmbeddedFramework.start();
        try {
            dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, OUR_TYPES.toArray(String[]::new));
        } catch (RuntimeException | AssertionError e) {
            fw.close();
            throw e;
        }
    }

    @Override
    public void close() { fw.close(); }
}
