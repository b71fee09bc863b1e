package org.ddmapper.core.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * The device set and the dm: stacking graph between its devices: devices by name and by id, the
 * next id, which devices a device stacks on (through its built tables, or the specs of slots not
 * built yet), the order of the set along the stacking (lower devices first, or upper first), the
 * waves of devices that can be stopped at once, and the checks that keep the graph free of cycles.
 *
 * <p>Its lock is taken after a device's control lock and held only briefly; the maps are
 * concurrent, so lookups take no lock.
 */
final class Topology {
    private final Object lock = new Object();
    private final Map<String, MappedDevice> byName = new ConcurrentHashMap<>();
    private final Map<Long, MappedDevice> byId = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);

    MappedDevice named(String name) { return byName.get(name); }

    MappedDevice withId(long id) { return byId.get(id); }

    Collection<MappedDevice> all() { return byId.values(); }

    boolean has(String name) { return byName.containsKey(name); }

    boolean hasId(long id) { return byId.containsKey(id); }

    long nextId() { return nextId.get(); }

    /** Ids from now on start at least at {@code id}. */
    void idsFrom(long id) { nextId.set(Math.max(nextId.get(), id)); }

    /** Adds a new device under a fresh id; EEXIST when the name is taken. */
    MappedDevice create(String name, LongFunction<MappedDevice> device) {
        synchronized (lock) {
            if (byName.containsKey(name)) throw new DmException(Errno.EBUSY, "device '" + name + "' already exists");
            MappedDevice d = device.apply(nextId.getAndIncrement());
            add(d);
            return d;
        }
    }

    void add(MappedDevice d) {
        synchronized (lock) {
            byName.put(d.name(), d);
            byId.put(d.id(), d);
        }
    }

    void remove(MappedDevice d) {
        synchronized (lock) {
            byName.remove(d.name(), d);
            byId.remove(d.id(), d);
        }
    }

    /** Renames {@code d}; refused when the name is taken or another device's table names it as dm:OLD. */
    void rename(MappedDevice d, String newName) {
        String old = d.name();
        synchronized (lock) {
            if (byName.containsKey(newName)) throw new DmException(Errno.EBUSY, "device '" + newName + "' already exists");
            for (MappedDevice other : byId.values()) {
                if (other != d && (dmNames(other.liveSpec()).contains(old) || dmNames(other.inactiveSpec()).contains(old)))
                    throw new DmException(Errno.EBUSY, "device '" + old + "' is used by '" + other.name() + "' as dm:" + old
                            + "; renaming it would break that table");
            }
            byName.remove(old);
            d.rename(newName);
            byName.put(newName, d);
        }
    }

    /** Refuses to stack {@code upper} on {@code lower} (reference as written) when that closes a cycle. */
    void checkStacking(MappedDevice upper, MappedDevice lower, String reference) {
        synchronized (lock) {
            List<String> cycle = pathTo(lower, upper);
            if (cycle != null)
                throw new DmException(Errno.EINVAL, "'" + reference + "': stacking " + upper.name() + " on " + lower.name()
                        + " would make a cycle: " + String.join(" -> ", cycle) + " -> " + lower.name());
        }
    }

    /** Re-checks a table built for {@code d}: none of its dm: devices was removed meanwhile or makes a cycle; destroys it otherwise. */
    void checkBuilt(MappedDevice d, Table t) {
        synchronized (lock) {
            for (MappedDevice lower : t.lowerDevices()) {
                List<String> cycle = lower == d ? List.of(d.name()) : pathTo(lower, d);
                if (cycle != null || lower.isRemoved()) {
                    t.destroy(d);
                    throw new DmException(Errno.EINVAL, lower.isRemoved() ? "'dm:" + lower.name() + "' was removed meanwhile"
                            : "'dm:" + lower.name() + "': stacking " + d.name() + " on it would make a cycle");
                }
            }
        }
    }

    /** The chain of names from {@code from} down to {@code to} through dm: stacking, or null when there is none. */
    private List<String> pathTo(MappedDevice from, MappedDevice to) {
        Map<MappedDevice, MappedDevice> parent = new HashMap<>();
        ArrayDeque<MappedDevice> queue = new ArrayDeque<>();
        Set<MappedDevice> seen = new HashSet<>();
        queue.add(from);
        seen.add(from);
        while (!queue.isEmpty()) {
            MappedDevice d = queue.poll();
            if (d == to) {
                List<String> chain = new ArrayList<>();
                for (MappedDevice x = d; x != null; x = parent.get(x)) chain.add(0, x.name());
                return chain;
            }
            for (MappedDevice lower : lowersOf(d)) {
                if (seen.add(lower)) {
                    parent.put(lower, d);
                    queue.add(lower);
                }
            }
        }
        return null;
    }

    /** The devices d stacks on, through any of its slots (built or not built yet). */
    List<MappedDevice> lowersOf(MappedDevice d) {
        List<MappedDevice> out = new ArrayList<>();
        Table live = d.liveTable();
        Table inactive = d.inactiveTable();
        if (live != null) out.addAll(live.lowerDevices());
        else for (String n : dmNames(d.liveSpec())) addIfPresent(out, n);
        if (inactive != null) out.addAll(inactive.lowerDevices());
        else for (String n : dmNames(d.inactiveSpec())) addIfPresent(out, n);
        return out;
    }

    private void addIfPresent(List<MappedDevice> out, String name) {
        MappedDevice m = byName.get(name);
        if (m != null) out.add(m);
    }

    /** The names of the mapped devices a spec references as dm:NAME. */
    static List<String> dmNames(TableSpec spec) {
        List<String> out = new ArrayList<>();
        if (spec == null) return out;
        for (SourceLine s : spec.lines())
            for (String a : s.line().args()) if (a.startsWith("dm:")) out.add(a.substring(3));
        return out;
    }

    /**
     * Every device, ordered along dm: stacking: lower devices before the devices built on them,
     * or (upperFirst) the reverse, so that an upper device drains into lowers that still serve.
     */
    List<MappedDevice> inOrder(boolean upperFirst) {
        List<MappedDevice> all = new ArrayList<>(byId.values());
        all.sort(Comparator.comparingLong(MappedDevice::id));
        List<MappedDevice> lowerFirst = new ArrayList<>();
        Set<MappedDevice> done = new HashSet<>();
        for (MappedDevice d : all) visitLowers(d, done, new HashSet<>(), lowerFirst);
        if (upperFirst) Collections.reverse(lowerFirst);
        return lowerFirst;
    }

    private void visitLowers(MappedDevice d, Set<MappedDevice> done, Set<MappedDevice> path, List<MappedDevice> out) {
        if (done.contains(d) || !path.add(d)) return;
        for (MappedDevice lower : lowersOf(d)) visitLowers(lower, done, path, out);
        path.remove(d);
        if (done.add(d)) out.add(d);
    }

    /**
     * Devices (given upper devices first) cut into waves in which no device is stacked (through
     * any chain of dm: devices) on another of the same wave: a wave can be stopped all at once,
     * since what its devices have in flight only goes to devices that still serve.
     */
    List<List<MappedDevice>> waves(List<MappedDevice> upperFirst) {
        List<List<MappedDevice>> waves = new ArrayList<>();
        List<MappedDevice> wave = new ArrayList<>();
        Set<MappedDevice> under = new HashSet<>();
        for (MappedDevice d : upperFirst) {
            if (under.contains(d)) {
                waves.add(wave);
                wave = new ArrayList<>();
                under.clear();
            }
            wave.add(d);
            ArrayDeque<MappedDevice> todo = new ArrayDeque<>(lowersOf(d));
            while (!todo.isEmpty()) {
                MappedDevice l = todo.poll();
                if (under.add(l)) todo.addAll(lowersOf(l));
            }
        }
        if (!wave.isEmpty()) waves.add(wave);
        return waves;
    }

    /** Runs {@code each} on every device of a wave under all their control locks, taken in wave order and released in reverse. */
    static void underControl(List<MappedDevice> wave, Runnable each) {
        List<MappedDevice> locked = new ArrayList<>();
        try {
            for (MappedDevice d : wave) {
                d.control.lock();
                locked.add(d);
            }
            each.run();
        } finally {
            for (int i = locked.size() - 1; i >= 0; i--) locked.get(i).control.unlock();
        }
    }
}
