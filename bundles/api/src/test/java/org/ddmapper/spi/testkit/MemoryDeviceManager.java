package org.ddmapper.spi.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;

/**
 * A small DeviceManager for unit tests of what sits on the core (the NBD server, the control
 * server, the console), with errors worded as the core words them.
 *
 * <p>Two kinds of device. {@link #add} and {@link #addFile} make one that holds data (in memory or
 * in a file) behind a one-line "memory" table, for I/O tests: requests complete on a small thread
 * pool, wait while the device is suspended, and can be held at an offset ({@link
 * MemoryDevice}-like scripting on {@link StoredDevice}). {@link #create} takes a table of
 * {@code zero}, {@code error} and {@code echo} lines (checked for contiguity and known types) that
 * reads zeros, fails in its error lines, and whose echo targets answer messages with what they
 * received, adopt passed fds on "take-fd" and raise a TARGET_EVENT on "event k=v...".
 *
 * <p>Every verb raises the events the core raises for it (CREATED, TABLE_LOADED, TABLE_LIVE,
 * SUSPENDED, RESUMED, RENAMED, REMOVED...), counted per device and kept in a history.
 */
public final class MemoryDeviceManager implements DeviceManager, AutoCloseable {
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, StoredDevice> devices = new LinkedHashMap<>();
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLong flushes = new AtomicLong();
    private final ExecutorService io = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "memdev-io");
        t.setDaemon(true);
        return t;
    });
    /** Descriptors the echo targets adopted (the test closes them). */
    public final List<Integer> adoptedFds = new CopyOnWriteArrayList<>();
    /** Messages delivered to echo targets. */
    public final AtomicInteger messages = new AtomicInteger();

    private record Subscription(Long deviceId, DeviceEventListener listener) {}

    /** Adds a zeroed in-memory device with a live table. */
    public StoredDevice add(String name, int sizeBytes, boolean readOnly) {
        return added(name, ByteBuffer.allocateDirect(sizeBytes), null, sizeBytes, readOnly);
    }

    /** Adds a device stored in a file (positional I/O on the pool, as the core's file provider does). */
    public StoredDevice addFile(String name, Path file, boolean readOnly) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return added(name, null, ch, ch.size(), readOnly);
    }

    private StoredDevice added(String name, ByteBuffer memory, FileChannel file, long sizeBytes, boolean readOnly) {
        List<DeviceEvent> raised = new ArrayList<>();
        StoredDevice d;
        synchronized (this) {
            checkName(name);
            d = new StoredDevice(ids.incrementAndGet(), name, memory, file, sizeBytes, readOnly, io, flushes);
            devices.put(d.id, d);
            d.live = List.of(new TableLine(0, sizeBytes / 512, "memory", List.of()));
            raised.add(d.record(new EventPayload.Created(), -1));
            raised.add(d.record(new EventPayload.TableLive(1, sizeBytes / 512), -1));
        }
        publish(raised);
        return d;
    }

    /** Flushes that reached any stored device. */
    public long flushes() { return flushes.get(); }

    /** The device of that name (ENXIO when there is none). */
    public synchronized StoredDevice device(String name) { return find(DeviceRef.of(name)); }

    /** Live subscriptions (to check that closed links unsubscribe). */
    public int subscriptionCount() { return subscribers.size(); }

    /** Makes a device count {@code count} openers (as if that many held it open). */
    public synchronized void setOpenCount(String name, int count) { find(DeviceRef.of(name)).openers.set(count); }

    // ---------------------------------------------------------------- verbs

    @Override
    public DeviceInfo create(String name, String table) {
        List<DeviceEvent> raised = new ArrayList<>();
        DeviceInfo info;
        synchronized (this) {
            checkName(name);
            List<TableLine> lines = table == null || table.isBlank() ? null : parse(table);
            StoredDevice d = new StoredDevice(ids.incrementAndGet(), name, null, null, 0, false, io, flushes);
            devices.put(d.id, d);
            raised.add(d.record(new EventPayload.Created(), -1));
            if (lines != null) {
                d.live = lines;
                raised.add(d.record(new EventPayload.TableLive(lines.size(), d.sizeSectors()), -1));
            }
            info = d.info();
        }
        publish(raised);
        return info;
    }

    @Override
    public DeviceInfo load(DeviceRef device, String table) {
        return change(device, d -> {
            d.inactive = parse(table);
            return d.record(new EventPayload.TableLoaded(d.inactive.size()), -1);
        });
    }

    @Override
    public DeviceInfo clear(DeviceRef device) {
        return change(device, d -> {
            d.inactive = null;
            return d.record(new EventPayload.TableCleared(), -1);
        });
    }

    @Override
    public DeviceInfo suspend(DeviceRef device, boolean noflush) {
        return change(device, d -> d.suspend() ? d.record(new EventPayload.Suspended(noflush, d.heldCount()), -1) : null);
    }

    @Override
    public DeviceInfo resume(DeviceRef device) {
        StoredDevice[] resumed = new StoredDevice[1];
        DeviceInfo info = change(device, d -> {
            resumed[0] = d;
            if (d.inactive != null) {
                d.live = d.inactive;
                d.inactive = null;
                d.resumeHolding();
                return d.record(new EventPayload.TableLive(d.live.size(), d.sizeSectors()), -1);
            }
            if (!d.resumeHolding()) return null;
            return d.record(new EventPayload.Resumed(d.heldCount()), -1);
        });
        resumed[0].replayHeld();
        return info;
    }

    @Override
    public void remove(DeviceRef device, boolean force) {
        DeviceEvent e;
        StoredDevice d;
        synchronized (this) {
            d = find(device);
            int open = d.openers.get();
            if (open > 0 && !force)
                throw new DmException(Errno.EBUSY, "device '" + d.name + "' is open " + open + " times; use force to remove it");
            d.markRemoved();
            e = d.record(new EventPayload.Removed(force, d.heldCount(), ""), -1);
            devices.remove(d.id);
            notifyAll();
        }
        d.replayHeld();
        publish(List.of(e));
    }

    @Override
    public DeviceInfo rename(DeviceRef device, String newName) {
        return change(device, d -> {
            checkName(newName);
            String old = d.name;
            d.name = newName;
            return d.record(new EventPayload.Renamed(old, newName), -1);
        });
    }

    @Override
    public synchronized List<DeviceInfo> list() {
        return devices.values().stream().sorted(Comparator.comparing(d -> d.name)).map(StoredDevice::info).toList();
    }

    @Override
    public synchronized DeviceInfo info(DeviceRef device) { return find(device).info(); }

    @Override
    public synchronized List<TargetStatus> table(DeviceRef device, boolean inactive) {
        StoredDevice d = find(device);
        List<TableLine> lines = inactive ? d.inactive : d.live;
        List<TargetStatus> out = new ArrayList<>();
        if (lines != null) for (TableLine l : lines) out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), l.argsText()));
        return out;
    }

    @Override
    public synchronized List<TargetStatus> status(DeviceRef device) {
        StoredDevice d = find(device);
        List<TargetStatus> out = new ArrayList<>();
        if (d.live != null) for (TableLine l : d.live)
            out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), l.type().equals("echo") ? "messages " + messages.get() : ""));
        return out;
    }

    @Override
    public synchronized List<String> deps(DeviceRef device) {
        StoredDevice d = find(device);
        List<String> out = new ArrayList<>();
        if (d.live != null) for (TableLine l : d.live) if (l.type().equals("echo") && !l.args().isEmpty()) out.add(l.args().get(0));
        return out;
    }

    @Override
    public String message(DeviceRef device, TargetRef target, Message message) {
        DeviceEvent raised = null;
        String answer;
        synchronized (this) {
            StoredDevice d = find(device);
            if (d.live == null) throw new DmException(Errno.EINVAL, "device '" + d.name + "' has no live table");
            if (d.isSuspended()) throw new DmException(Errno.EBUSY, "device '" + d.name + "' is suspended");
            int index = targetIndex(d, target);
            TableLine line = d.live.get(index);
            if (!line.type().equals("echo")) throw new DmException(Errno.EINVAL, line.type() + ": target takes no messages");
            messages.incrementAndGet();
            if (message.verb().equals("take-fd")) for (PassedFd fd : message.fds()) adoptedFds.add(fd.take());
            if (message.verb().equals("event")) {
                raised = d.record(new EventPayload.TargetEvent(TestTargetTypes.Echo.keyValues(message)), index);
                notifyAll();
            }
            answer = "target " + index + " got " + String.join(" ", message.words()) + " binary " + message.payload().length
                    + " fds " + message.fds().size() + " tag " + message.tag();
        }
        if (raised != null) publish(List.of(raised));
        return answer;
    }

    private static int targetIndex(StoredDevice d, TargetRef target) {
        if (target instanceof TargetRef.ByIndex bi) {
            if (bi.index() >= d.live.size())
                throw new DmException(Errno.EINVAL, "no target @" + bi.index() + " in '" + d.name + "' (it has " + d.live.size() + ")");
            return bi.index();
        }
        long sector = ((TargetRef.BySector) target).sector();
        for (int i = 0; i < d.live.size(); i++) if (sector >= d.live.get(i).startSector() && sector < d.live.get(i).endSector()) return i;
        throw new DmException(Errno.EINVAL, "sector " + sector + " is beyond the end of '" + d.name + "'");
    }

    @Override
    public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) throws InterruptedException {
        long deadline = timeoutMillis >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : System.currentTimeMillis() + timeoutMillis;
        synchronized (this) {
            while (true) {
                StoredDevice d = find(device);
                if (d.eventNr() > afterEventNr) return d.eventNr();
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) return d.eventNr();
                wait(Math.min(left, 1000));
            }
        }
    }

    @Override
    public synchronized List<DeviceEvent> events(DeviceRef device, long afterEventNr) {
        return find(device).history().stream().filter(e -> e.eventNr() > afterEventNr).toList();
    }

    @Override
    public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) {
        Long id;
        synchronized (this) {
            id = device == null ? null : find(device).id;
        }
        Subscription s = new Subscription(id, listener);
        subscribers.add(s);
        return () -> subscribers.remove(s);
    }

    @Override
    public List<TargetTypeInfo> targets() {
        return List.of(new TargetTypeInfo("echo", "1.0.0", Set.of("messages"), "echo [dep]", "test"),
                new TargetTypeInfo("error", "1.7.0", Set.of(), "error", "test"),
                new TargetTypeInfo("zero", "1.2.0", Set.of(), "zero", "test"));
    }

    @Override
    public OpenDevice open(DeviceRef device) {
        synchronized (this) {
            return find(device).open();
        }
    }

    @Override
    public void close() { io.shutdownNow(); }

    // ---------------------------------------------------------------- helpers

    private interface Change {
        DeviceEvent apply(StoredDevice d);
    }

    /** Runs a verb's change under this lock; publishes its event (if any) outside it. */
    private DeviceInfo change(DeviceRef device, Change change) {
        DeviceEvent e;
        DeviceInfo info;
        synchronized (this) {
            StoredDevice d = find(device);
            e = change.apply(d);
            info = d.info();
            notifyAll();
        }
        if (e != null) publish(List.of(e));
        return info;
    }

    private void publish(List<DeviceEvent> events) {
        for (DeviceEvent e : events)
            for (Subscription s : subscribers) if (s.deviceId() == null || s.deviceId() == e.deviceId()) s.listener().onEvent(e);
    }

    private StoredDevice find(DeviceRef ref) {
        if (ref instanceof DeviceRef.Instance in) {
            StoredDevice d = devices.get(in.id());
            if (d == null) throw new DmException(Errno.ENXIO, "no device #" + in.id());
            return d;
        }
        String name = ((DeviceRef.Named) ref).name();
        for (StoredDevice d : devices.values()) if (d.name.equals(name)) return d;
        throw new DmException(Errno.ENXIO, "no device named '" + name + "'");
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains("/") || name.length() > 127)
            throw new DmException(Errno.EINVAL, "invalid device name '" + name + "'");
        for (StoredDevice d : devices.values()) if (d.name.equals(name)) throw new DmException(Errno.EBUSY, "device '" + name + "' already exists");
    }

    private static List<TableLine> parse(String table) {
        List<TableLine> lines = TableLine.parseTable(table);
        if (lines.isEmpty()) throw new DmException(Errno.EINVAL, "empty table");
        long next = 0;
        for (TableLine l : lines) {
            if (l.startSector() != next) throw new DmException(Errno.EINVAL, "gap in table at sector " + next);
            if (l.lengthSectors() == 0) throw new DmException(Errno.EINVAL, "zero-length target at sector " + next);
            if (!Set.of("zero", "error", "echo").contains(l.type())) throw new DmException(Errno.EINVAL, "unknown target type '" + l.type() + "'");
            next = l.endSector();
        }
        return lines;
    }
}
