package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.spi.TargetType;
import org.osgi.framework.ServiceRegistration;

/** Shared setup of the core's end-to-end tests: a framework, the DeviceManager, backing files. */
final class CoreFixture implements AutoCloseable {
    final EmbeddedFramework fw;
    final DeviceManager dm;
    final Path dir;
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    CoreFixture(EmbeddedFramework fw, Path dir) {
        this.fw = fw;
        this.dm = fw.service(DeviceManager.class);
        this.dir = dir;
        awaitTypes(dm, "linear", "striped");
    }

    /** Waits until the named target types are registered (their bundles start after the core). */
    static void awaitTypes(DeviceManager dm, String... names) {
        await("target types " + String.join(", ", names), () ->
                List.of(names).stream().allMatch(n -> dm.targets().stream().anyMatch(t -> t.name().equals(n))));
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    /** Registers a test target type as a service, unregistered at close. */
    <T extends TargetType> T register(T type) {
        registrations.add(fw.context().registerService(TargetType.class, type, new Hashtable<>()));
        awaitTypes(dm, type.name());
        return type;
    }

    /** A zero-filled backing file of {@code sectors} sectors. */
    Path file(String name, int sectors) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, new byte[sectors * 512]);
        return p;
    }

    static byte[] sectorOf(Path file, long sector) throws IOException {
        byte[] all = Files.readAllBytes(file);
        byte[] out = new byte[512];
        System.arraycopy(all, (int) (sector * 512), out, 0, 512);
        return out;
    }

    @Override
    public void close() {
        for (ServiceRegistration<?> r : registrations) {
            try {
                r.unregister();
            } catch (IllegalStateException e) {
                // already gone with the framework
            }
        }
        fw.close();
    }
}
