package org.ddmapper.control;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;

/**
 * A small DeviceManager for unit tests (errors worded as the core words them) of the control server: tables are checked for contiguity
 * and known types (zero, error, echo) but do no I/O. The echo target answers messages with what
 * it received, adopts a passed fd on "take-fd" and raises a TARGET_EVENT on "event k=v...".
 */
public final class InMemoryDeviceManager implements DeviceManager {
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Device> devices = new LinkedHashMap<>();
    private final List<Sub> subscribers = new CopyOnWriteArrayList<>();
    /** Descriptors the echo target adopted (the test closes them). */
    public final List<Integer> adoptedFds = new CopyOnWriteArrayList<>();
    /** Messages delivered to targets. */
    public final AtomicInteger messages = new AtomicInteger();

    private static final class Device {
        final long id;
        String name;
        boolean suspended;
        List<TableLine> live;
        List<TableLine> inactive;
        long eventNr;
        int openCount;
        final List<DeviceEvent> history = new ArrayList<>();

        Device(long id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    private record Sub(Long deviceId, DeviceEventListener listener) {}

    /** Live subscriptions (to check that closed links unsubscribe). */
    public int subscriptionCount() { return subscribers.size(); }

    public synchronized void setOpenCount(String name, int count) { find(DeviceRef.of(name)).openCount = count; }

    @Override
    public DeviceInfo create(String name, String table) {
        List<DeviceEvent> raised = new ArrayList<>();
        DeviceInfo info;
        synchronized (this) {
            checkName(name);
            List<TableLine> lines = table == null || table.isBlank() ? null : parse(table);
            Device d = new Device(ids.incrementAndGet(), name);
            devices.put(d.id, d);
            raised.add(event(d, EventKind.CREATED, Map.of()));
            if (lines != null) {
                d.live = lines;
                raised.add(event(d, EventKind.TABLE_LIVE, Map.of("targets", Integer.toString(lines.size()))));
            }
            info = info(d);
        }
        publish(raised);
        return info;
    }

    @Override
    public DeviceInfo load(DeviceRef device, String table) {
        return mutate(device, d -> {
            d.inactive = parse(table);
            return event(d, EventKind.TABLE_LOADED, Map.of("targets", Integer.toString(d.inactive.size())));
        });
    }

    @Override
    public DeviceInfo clear(DeviceRef device) {
        return mutate(device, d -> {
            d.inactive = null;
            return event(d, EventKind.TABLE_CLEARED, Map.of());
        });
    }

    @Override
    public DeviceInfo suspend(DeviceRef device, boolean noflush) {
        return mutate(device, d -> {
            if (d.suspended) return null;
            d.suspended = true;
            return event(d, EventKind.SUSPENDED, Map.of("noflush", Boolean.toString(noflush)));
        });
    }

    @Override
    public DeviceInfo resume(DeviceRef device) {
        return mutate(device, d -> {
            if (d.inactive != null) {
                d.live = d.inactive;
                d.inactive = null;
                d.suspended = false;
                return event(d, EventKind.TABLE_LIVE, Map.of("targets", Integer.toString(d.live.size())));
            }
            if (!d.suspended) return null;
            d.suspended = false;
            return event(d, EventKind.RESUMED, Map.of());
        });
    }

    @Override
    public void remove(DeviceRef device, boolean force) {
        DeviceEvent e;
        synchronized (this) {
            Device d = find(device);
            if (d.openCount > 0 && !force)
                throw new DmException(Errno.EBUSY, "device '" + d.name + "' is open " + d.openCount + " times; use force to remove it");
            e = event(d, EventKind.REMOVED, Map.of("force", Boolean.toString(force)));
            devices.remove(d.id);
            notifyAll();
        }
        publish(List.of(e));
    }

    @Override
    public DeviceInfo rename(DeviceRef device, String newName) {
        return mutate(device, d -> {
            checkName(newName);
            String old = d.name;
            d.name = newName;
            return event(d, EventKind.RENAMED, Map.of("from", old, "to", newName));
        });
    }

    @Override
    public synchronized List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        devices.values().stream().sorted((a, b) -> a.name.compareTo(b.name)).forEach(d -> out.add(info(d)));
        return out;
    }

    @Override
    public synchronized DeviceInfo info(DeviceRef device) { return info(find(device)); }

    @Override
    public synchronized List<TargetStatus> table(DeviceRef device, boolean inactive) {
        Device d = find(device);
        List<TableLine> lines = inactive ? d.inactive : d.live;
        List<TargetStatus> out = new ArrayList<>();
        if (lines != null) for (TableLine l : lines) out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), l.argsText()));
        return out;
    }

    @Override
    public synchronized List<TargetStatus> status(DeviceRef device) {
        Device d = find(device);
        List<TargetStatus> out = new ArrayList<>();
        if (d.live != null) for (TableLine l : d.live)
            out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), l.type().equals("echo") ? "messages " + messages.get() : ""));
        return out;
    }

    @Override
    public synchronized List<String> deps(DeviceRef device) {
        Device d = find(device);
        List<String> out = new ArrayList<>();
        if (d.live != null) for (TableLine l : d.live) if (l.type().equals("echo") && !l.args().isEmpty()) out.add(l.args().get(0));
        return out;
    }

    @Override
    public String message(DeviceRef device, TargetRef target, Message message) {
        DeviceEvent raised = null;
        String answer;
        synchronized (this) {
            Device d = find(device);
            if (d.live == null) throw new DmException(Errno.EINVAL, "device '" + d.name + "' has no live table");
            if (d.suspended) throw new DmException(Errno.EBUSY, "device '" + d.name + "' is suspended");
            TableLine line = null;
            int index = -1;
            if (target instanceof TargetRef.ByIndex bi) {
                if (bi.index() >= d.live.size())
                    throw new DmException(Errno.EINVAL, "no target @" + bi.index() + " in '" + d.name + "' (it has " + d.live.size() + ")");
                index = bi.index();
                line = d.live.get(index);
            } else {
                long sector = ((TargetRef.BySector) target).sector();
                for (int i = 0; i < d.live.size(); i++) {
                    TableLine l = d.live.get(i);
                    if (sector >= l.startSector() && sector < l.endSector()) {
                        line = l;
                        index = i;
                    }
                }
                if (line == null) throw new DmException(Errno.EINVAL, "sector " + sector + " is beyond the end of '" + d.name + "'");
            }
            if (!line.type().equals("echo")) throw new DmException(Errno.EINVAL, line.type() + ": target takes no messages");
            messages.incrementAndGet();
            if (message.verb().equals("take-fd")) {
                for (PassedFd fd : message.fds()) adoptedFds.add(fd.take());
            }
            if (message.verb().equals("event")) {
                Map<String, String> details = new HashMap<>();
                for (String w : message.words().subList(1, message.words().size())) {
                    int eq = w.indexOf('=');
                    if (eq > 0) details.put(w.substring(0, eq), w.substring(eq + 1));
                }
                raised = new DeviceEvent(d.name, d.id, ++d.eventNr, EventKind.TARGET_EVENT, index, details, System.currentTimeMillis());
                d.history.add(raised);
                notifyAll();
            }
            answer = "target " + index + " got " + String.join(" ", message.words()) + " binary " + message.payload().length
                    + " fds " + message.fds().size() + " tag " + message.tag();
        }
        if (raised != null) publish(List.of(raised));
        return answer;
    }

    @Override
    public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) throws InterruptedException {
        long deadline = timeoutMillis >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : System.currentTimeMillis() + timeoutMillis;
        synchronized (this) {
            while (true) {
                Device d = find(device);
                if (d.eventNr > afterEventNr) return d.eventNr;
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) return d.eventNr;
                wait(Math.min(left, 1000));
            }
        }
    }

    @Override
    public synchronized List<DeviceEvent> events(DeviceRef device, long afterEventNr) {
        return find(device).history.stream().filter(e -> e.eventNr() > afterEventNr).toList();
    }

    @Override
    public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) {
        Long id;
        synchronized (this) {
            id = device == null ? null : find(device).id;
        }
        Sub s = new Sub(id, listener);
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
        throw new UnsupportedOperationException("no I/O in the in-memory device manager");
    }

    private interface Change {
        DeviceEvent apply(Device d);
    }

    private DeviceInfo mutate(DeviceRef device, Change change) {
        DeviceEvent e;
        DeviceInfo info;
        synchronized (this) {
            Device d = find(device);
            e = change.apply(d);
            info = info(d);
            notifyAll();
        }
        if (e != null) publish(List.of(e));
        return info;
    }

    private DeviceEvent event(Device d, EventKind kind, Map<String, String> details) {
        DeviceEvent e = new DeviceEvent(d.name, d.id, ++d.eventNr, kind, -1, details, System.currentTimeMillis());
        d.history.add(e);
        if (d.history.size() > 100) d.history.remove(0);
        return e;
    }

    private void publish(List<DeviceEvent> events) {
        for (DeviceEvent e : events)
            for (Sub s : subscribers) if (s.deviceId() == null || s.deviceId() == e.deviceId()) s.listener().onEvent(e);
    }

    private Device find(DeviceRef ref) {
        if (ref instanceof DeviceRef.Instance in) {
            Device d = devices.get(in.id());
            if (d == null) throw new DmException(Errno.ENXIO, "no device #" + in.id());
            return d;
        }
        String name = ((DeviceRef.Named) ref).name();
        for (Device d : devices.values()) if (d.name.equals(name)) return d;
        throw new DmException(Errno.ENXIO, "no device named '" + name + "'");
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains("/") || name.length() > 127)
            throw new DmException(Errno.EINVAL, "invalid device name '" + name + "'");
        for (Device d : devices.values()) if (d.name.equals(name)) throw new DmException(Errno.EBUSY, "device '" + name + "' already exists");
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

    private static DeviceInfo info(Device d) {
        long size = d.live == null ? 0 : d.live.get(d.live.size() - 1).endSector();
        return new DeviceInfo(d.id, d.name, d.suspended, d.openCount, d.eventNr, d.live != null, d.inactive != null, size, false,
                d.live == null ? 0 : d.live.size(), 0, null);
    }
}
