package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;

/** A TargetContext for unit tests: devices by reference, recorded events, a real scheduler. */
public final class FakeContext implements TargetContext, AutoCloseable {
    public record Event(EventKind kind, Map<String, String> details) {
        public String get(String key) { return details.get(key); }
    }

    final Map<String, Function<String, BlockDevice>> devices = new HashMap<>();
    final List<Event> events = new ArrayList<>();
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-scheduler");
        t.setDaemon(true);
        return t;
    });
    long lengthSectors;
    BlockDevice adopted;
    boolean adoptedNegotiated;
    String adoptedReference;

    FakeContext(long lengthSectors) {
        this.lengthSectors = lengthSectors;
    }

    FakeContext device(BlockDevice d) {
        devices.put(d.reference(), ref -> d);
        return this;
    }

    /** A reference that cannot be opened, with this errno. */
    FakeContext unopenable(String reference, Errno errno) {
        devices.put(reference, ref -> { throw new DmException(errno, "'" + ref + "': scripted open failure"); });
        return this;
    }

    TableArgs args(String line) {
        return new TableArgs("multipath", org.ddmapper.api.TableLine.splitWords(line), this::openDevice);
    }

    public synchronized List<Event> events() { return List.copyOf(events); }

    public synchronized List<Event> events(EventKind kind) {
        return events.stream().filter(e -> e.kind() == kind).toList();
    }

    @Override public String deviceName() { return "mpatha"; }

    @Override public int targetIndex() { return 0; }

    @Override public long startSector() { return 0; }

    @Override public long lengthSectors() { return lengthSectors; }

    @Override public boolean readOnly() { return false; }

    /** Runs on the raising thread before an event is recorded, outside this object's lock (tests force interleavings with it). */
    volatile java.util.function.Consumer<Event> beforeRecord = e -> { };
    /** Runs on the messaging thread inside adoptSocket, before it returns. */
    volatile Runnable duringAdopt = () -> { };

    @Override
    public void raiseEvent(EventKind kind, Map<String, String> details) {
        Event e = new Event(kind, Map.copyOf(details));
        beforeRecord.accept(e);
        synchronized (this) {
            events.add(e);
            notifyAll();
        }
    }

    /** Waits up to {@code millis} for {@code count} events of a kind. */
    synchronized List<Event> await(EventKind kind, int count, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (events(kind).size() < count && System.currentTimeMillis() < end) wait(Math.max(1, end - System.currentTimeMillis()));
        return events(kind);
    }

    @Override public ScheduledExecutorService scheduler() { return scheduler; }

    @Override
    public BlockDevice openDevice(String reference) {
        Function<String, BlockDevice> f = devices.get(reference);
        if (f == null) throw new DmException(Errno.ENODEV, "'" + reference + "': no such device");
        return f.apply(reference);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        socket.take();
        adoptedNegotiated = negotiated;
        adoptedReference = reference;
        duringAdopt.run();
        return adopted;
    }

    @Override
    public void close() { scheduler.shutdownNow(); }
}
