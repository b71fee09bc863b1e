package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;

/**
 * A real Felix with the built bundles (core, targets, multipath, checkers), an etc directory
 * holding the test's multipath.conf, a backing file, and helpers for events (I/O: support.Io).
 */
public final class MultipathFixture implements AutoCloseable {
    static final List<String> CHECKERS = List.of("directio", "readsector0", "tur", "nbd");

    public final Path dir;
    public final EmbeddedFramework fw;
    public final DeviceManager dm;
    final List<DeviceEvent> events = new ArrayList<>();
    private final AutoCloseable subscription;

    public MultipathFixture(Path dir, String multipathConf) throws IOException {
        this.dir = dir;
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), multipathConf);
        fw = EmbeddedFramework.builder().etc(etc).start();
        try {
            dm = fw.service(DeviceManager.class);
            Waits.await("target type multipath", () -> dm.targets().stream().anyMatch(t -> t.name().equals("multipath")));
            subscription = dm.subscribe(null, e -> {
                synchronized (events) {
                    events.add(e);
                    events.notifyAll();
                }
            });
        } catch (RuntimeException | AssertionError e) {
            fw.close();
            throw e;
        }
    }

    /** Our NBD server's address (HOST:PORT), once its Endpoint service is up. */
    public String nbdAddress() {
        String[] found = new String[1];
        Waits.await("the NBD endpoint", () -> {
            try {
                for (var ref : fw.context().getServiceReferences(org.ddmapper.api.Endpoint.class, null)) {
                    org.ddmapper.api.Endpoint e = fw.context().getService(ref);
                    if (e != null && e.kind().equals("nbd") && e.failure() == null) found[0] = e.address();
                }
            } catch (org.osgi.framework.InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
            return found[0] != null;
        });
        return found[0];
    }

    /** A zero-filled backing file of {@code sectors} sectors. */
    public Path backingFile(String name, long sectors) throws IOException {
        Path f = dir.resolve(name);
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), sectors * Bio.SECTOR_BYTES - 1);
        }
        return f;
    }

    public List<DeviceEvent> events(String device, EventKind kind) {
        synchronized (events) {
            return events.stream().filter(e -> e.device().equals(device) && e.kind() == kind).toList();
        }
    }

    /** The kinds of the multipath events of one device, in order. */
    List<String> pathEventKinds(String device) {
        List<EventKind> mp = List.of(EventKind.PATH_FAILED, EventKind.PATH_REINSTATED, EventKind.PG_SWITCHED,
                EventKind.PG_BYPASSED, EventKind.PATH_DAMPED, EventKind.QUEUE_MODE_CHANGED);
        synchronized (events) {
            return events.stream().filter(e -> e.device().equals(device) && mp.contains(e.kind())).map(e -> e.kind().name()).toList();
        }
    }

    /** Waits (bounded) until {@code device} has {@code count} events of {@code kind}. */
    public List<DeviceEvent> awaitEvents(String device, EventKind kind, int count, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        synchronized (events) {
            while (events(device, kind).size() < count) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) fail("timed out waiting for " + count + " " + kind + " events on " + device + "; have " + events);
                events.wait(left);
            }
            return events(device, kind);
        }
    }

    public String message(String device, String... words) {
        return dm.message(DeviceRef.of(device), new TargetRef.ByIndex(0), Message.of(words));
    }

    public String status(String device) {
        return dm.status(DeviceRef.of(device)).get(0).text();
    }

    public String table(String device) {
        return dm.table(DeviceRef.of(device), false).get(0).text();
    }

    /** Replaces a device's table (load, then resume). */
    public void reload(String device, String table) {
        dm.load(DeviceRef.of(device), table);
        dm.resume(DeviceRef.of(device));
    }

    @Override
    public void close() {
        try {
            subscription.close();
        } catch (Exception ignored) {
            // the framework goes down anyway
        }
        fw.close();
    }
}
