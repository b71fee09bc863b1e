package org.ddmapper.spi.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.function.Consumer;
import java.util.function.Function;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;

/**
 * A target's surroundings for unit tests: a length, devices known by reference (opened through
 * {@link #args}, or later through {@link #openDevice}; a reference can be scripted to fail), the
 * events raised as their records, a passed socket adopted as a device the test gives, and a real
 * scheduler shut down by {@link #close()}.
 *
 * <pre>
 *   try (FakeTargetContext ctx = new FakeTargetContext(64, a, b)) {
 *       Target t = new MyType().create(ctx, ctx.args("mytype", "/a 0"));
 *       ...
 *       assertEquals(List.of(new EventPayload.StripeError(1, "/b", 1, Errno.EIO)), ctx.events());
 *   }
 * </pre>
 */
public final class FakeTargetContext implements TargetContext, AutoCloseable {

    /** What a test sees of an adopted socket: the reference and whether the handshake was done. */
    public record Adoption(String reference, boolean negotiated) {}

    private final long lengthSectors;
    private final Map<String, Function<String, BlockDevice>> devices = new HashMap<>();
    private final List<EventPayload> events = new ArrayList<>();
    private final List<Adoption> adoptions = new ArrayList<>();
    private String deviceName = "test";
    private volatile BlockDevice adopting;
    private volatile Consumer<EventPayload> beforeRecord = e -> { };
    private volatile Runnable duringAdopt = () -> { };
    private ScheduledThreadPoolExecutor scheduler;

    public FakeTargetContext(long lengthSectors, BlockDevice... known) {
        this.lengthSectors = lengthSectors;
        for (BlockDevice d : known) device(d);
    }

    /** The device name targets see (default "test"). */
    public FakeTargetContext named(String name) {
        deviceName = name;
        return this;
    }

    /** Opening {@code d}'s reference yields {@code d}. */
    public synchronized FakeTargetContext device(BlockDevice d) {
        devices.put(d.reference(), ref -> d);
        return this;
    }

    /** Opening {@code reference} runs {@code open} on the opening thread (a slow or changing open). */
    public synchronized FakeTargetContext openWith(String reference, Function<String, BlockDevice> open) {
        devices.put(reference, open);
        return this;
    }

    /** Opening {@code reference} fails with {@code errno}. */
    public FakeTargetContext unopenable(String reference, Errno errno) {
        return openWith(reference, ref -> { throw new DmException(errno, "'" + ref + "': scripted open failure"); });
    }

    /** A cursor over {@code words} (split as a table line is) for a target of {@code type}. */
    public TableArgs args(String type, String words) {
        return new TableArgs(type, TableLine.splitWords(words), this::openDevice);
    }

    @Override
    public String deviceName() { return deviceName; }

    @Override
    public int targetIndex() { return 0; }

    @Override
    public long startSector() { return 0; }

    @Override
    public long lengthSectors() { return lengthSectors; }

    @Override
    public boolean readOnly() { return false; }

    /** Runs {@code hook} on the raising thread before each event is recorded, outside this object's lock (to force interleavings). */
    public FakeTargetContext beforeRecord(Consumer<EventPayload> hook) {
        beforeRecord = hook;
        return this;
    }

    @Override
    public void raise(EventPayload event) {
        beforeRecord.accept(event);
        synchronized (this) {
            events.add(event);
            notifyAll();
        }
    }

    /** The events raised so far, in order. */
    public synchronized List<EventPayload> events() { return List.copyOf(events); }

    /** The events raised so far of one kind, in order. */
    public synchronized List<EventPayload> events(EventKind kind) {
        return events.stream().filter(e -> e.kind() == kind).toList();
    }

    /** The events raised so far of one record type, in order. */
    public synchronized <T extends EventPayload> List<T> events(Class<T> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** Waits up to {@code millis} for {@code count} events of a kind; returns those there are then. */
    public synchronized List<EventPayload> await(EventKind kind, int count, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (events(kind).size() < count && System.currentTimeMillis() < end) wait(Math.max(1, end - System.currentTimeMillis()));
        return events(kind);
    }

    @Override
    public synchronized ScheduledExecutorService scheduler() {
        if (scheduler == null) {
            scheduler = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "test-target-scheduler");
                t.setDaemon(true);
                return t;
            });
            scheduler.setRemoveOnCancelPolicy(true);
        }
        return scheduler;
    }

    @Override
    public BlockDevice openDevice(String reference) {
        Function<String, BlockDevice> open;
        synchronized (this) {
            open = devices.get(reference);
        }
        if (open == null) throw new DmException(Errno.ENODEV, "'" + reference + "': no such device");
        return open.apply(reference);
    }

    /** A socket passed with a message is adopted as {@code device} from now on (without it, adopting is refused). */
    public FakeTargetContext adopting(BlockDevice device) {
        adopting = device;
        return this;
    }

    /** Runs {@code hook} on the messaging thread inside {@link #adoptSocket}, before it returns. */
    public FakeTargetContext duringAdopt(Runnable hook) {
        duringAdopt = hook;
        return this;
    }

    /** The sockets adopted so far, in order. */
    public synchronized List<Adoption> adoptions() { return List.copyOf(adoptions); }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        BlockDevice device = adopting;
        if (device == null) throw new DmException(Errno.EOPNOTSUPP, "no sockets in unit tests");
        socket.take();
        synchronized (this) {
            adoptions.add(new Adoption(reference, negotiated));
        }
        duringAdopt.run();
        return device;
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) scheduler.shutdownNow();
    }
}
