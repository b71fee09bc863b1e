package org.ddmapper.it.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.spi.TargetType;
import org.osgi.framework.ServiceRegistration;
import org.ddmapper.it.support.Waits;

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
        Waits.awaitTypes(dm, "linear", "striped");
    }

    /** Registers a test target type as a service, unregistered at close. */
    <T extends TargetType> T register(T type) {
        registrations.add(fw.context().registerService(TargetType.class, type, new Hashtable<>()));
        Waits.awaitTypes(dm, type.name());
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
