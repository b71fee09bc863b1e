package org.ddmapper.api.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;

/**
 * A device manager holding tables as text, for the command line's tests: every target's TABLE
 * text is its arguments, its INFO text empty; a target argument starting with '/' or "dm:" is a
 * device it uses. Errors are worded and numbered as the core's.
 */
final class FakeManager implements DeviceManager {
    private long nextId = 1;
    final Map<String, Dev> devices = new LinkedHashMap<>();
    final List<String> calls = new ArrayList<>();

    static final class Dev {
        final long id;
        String name;
        List<TableLine> live;
        List<TableLine> inactive;
        boolean suspended;
        int openCount;
        long eventNr;

        Dev(long id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    private Dev find(DeviceRef ref) {
        for (Dev d : devices.values()) {
            if (ref instanceof DeviceRef.Instance i ? i.id() == d.id : ((DeviceRef.Named) ref).name().equals(d.name)) return d;
        }
        throw new DmException(Errno.ENXIO, "no device named '" + ref + "'");
    }

    private DeviceInfo info(Dev d) {
        return new DeviceInfo(d.id, d.name, d.suspended, d.openCount, d.eventNr, d.live != null, d.inactive != null,
                d.live == null ? 0 : d.live.stream().mapToLong(TableLine::lengthSectors).sum(), false,
                d.live == null ? 0 : d.live.size(), 0, null);
    }

    @Override public DeviceInfo create(String name, String table) {
        calls.add("create " + name);
        if (devices.containsKey(name)) throw new DmException(Errno.EBUSY, "device '" + name + "' already exists");
        Dev d = new Dev(nextId++, name);
        if (table != null && !table.isBlank()) d.live = TableLine.parseTable(table);
        devices.put(name, d);
        return info(d);
    }

    @Override public DeviceInfo load(DeviceRef device, String table) {
        Dev d = find(device);
        d.inactive = TableLine.parseTable(table);
        return info(d);
    }

    @Override public DeviceInfo clear(DeviceRef device) {
        Dev d = find(device);
        d.inactive = null;
        return info(d);
    }

    @Override public DeviceInfo suspend(DeviceRef device, boolean noflush) {
        Dev d = find(device);
        calls.add("suspend " + d.name + (noflush ? " noflush" : ""));
        d.suspended = true;
        return info(d);
    }

    @Override public DeviceInfo resume(DeviceRef device) {
        Dev d = find(device);
        calls.add("resume " + d.name);
        if (d.inactive != null) d.live = d.inactive;
        d.inactive = null;
        d.suspended = false;
        return info(d);
    }

    @Override public void remove(DeviceRef device, boolean force) {
        Dev d = find(device);
        calls.add("remove " + d.name + (force ? " force" : ""));
        if (d.openCount > 0 && !force) throw new DmException(Errno.EBUSY, "device '" + d.name + "' is open");
        devices.remove(d.name);
    }

    @Override public DeviceInfo rename(DeviceRef device, String newName) {
        Dev d = find(device);
        devices.remove(d.name);
        d.name = newName;
        d.eventNr++;
        devices.put(newName, d);
        return info(d);
    }

    @Override public List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        for (Dev d : devices.values()) out.add(info(d));
        return out;
    }

    @Override public DeviceInfo info(DeviceRef device) { return info(find(device)); }

    @Override public List<TargetStatus> table(DeviceRef device, boolean inactive) {
        return lines(inactive ? find(device).inactive : find(device).live, true);
    }

    @Override public List<TargetStatus> status(DeviceRef device) { return lines(find(device).live, false); }

    @Override public List<TargetStatus> status(DeviceRef device, boolean inactive) {
        return lines(inactive ? find(device).inactive : find(device).live, false);
    }

    private static List<TargetStatus> lines(List<TableLine> table, boolean tableText) {
        List<TargetStatus> out = new ArrayList<>();
        if (table != null)
            for (TableLine l : table) out.add(new TargetStatus(l.startSector(), l.lengthSectors(), l.type(), tableText ? l.argsText() : ""));
        return out;
    }

    /** Counters set by a test per device name (absent: all zero, with the devices from deps). */
    final Map<String, org.ddmapper.api.DeviceStats> stats = new LinkedHashMap<>();

    @Override public org.ddmapper.api.DeviceStats stats(DeviceRef device) {
        Dev d = find(device);
        org.ddmapper.api.DeviceStats set = stats.get(d.name);
        if (set != null) return set;
        org.ddmapper.api.IoCounters.Op z = org.ddmapper.api.IoCounters.Op.NONE;
        org.ddmapper.api.IoCounters zero = new org.ddmapper.api.IoCounters(z, z, z, z, 0);
        List<org.ddmapper.api.DeviceStats.Lower> lower = new ArrayList<>();
        for (String r : deps(device)) lower.add(new org.ddmapper.api.DeviceStats.Lower(r, zero));
        return new org.ddmapper.api.DeviceStats(d.name, d.id, zero, lower);
    }

    @Override public List<String> deps(DeviceRef device) {
        java.util.LinkedHashSet<String> seen = new java.util.LinkedHashSet<>();
        List<TableLine> live = find(device).live;
        if (live != null)
            for (TableLine l : live) for (String a : l.args()) if (a.startsWith("/") || a.startsWith("dm:")) seen.add(a);
        List<String> out = new ArrayList<>(seen);
        java.util.Collections.reverse(out);
        return out;
    }

    @Override public String message(DeviceRef device, TargetRef target, Message message) {
        find(device);
        return "got " + String.join(" ", message.words());
    }

    @Override public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) { return find(device).eventNr; }

    @Override public List<DeviceEvent> events(DeviceRef device, long afterEventNr) { return List.of(); }

    @Override public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) { return () -> { }; }

    @Override public List<TargetTypeInfo> targets() {
        return List.of(new TargetTypeInfo("zero", "1.1.0", java.util.Set.of(), "zero", "t"),
                new TargetTypeInfo("linear", "1.4.0", java.util.Set.of(), "linear", "t"));
    }

    @Override public OpenDevice open(DeviceRef device) { throw new UnsupportedOperationException(); }
}
