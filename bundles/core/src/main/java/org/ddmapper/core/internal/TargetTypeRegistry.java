package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.spi.TargetType;

/**
 * The registered target types. Several services may offer one name at once (a new version
 * installed beside the old): the one registered first serves until it goes away.
 */
final class TargetTypeRegistry {

    /** One registered service and the bundle that offers it. */
    record Entry(TargetType type, String bundle, long serviceId) { }

    private final Map<String, List<Entry>> byName = new HashMap<>();

    /** Adds a service; returns true when it became the serving one for its name. */
    synchronized boolean add(TargetType type, String bundle, long serviceId) {
        List<Entry> list = byName.computeIfAbsent(type.name(), n -> new ArrayList<>());
        list.add(new Entry(type, bundle, serviceId));
        list.sort(Comparator.comparingLong(Entry::serviceId));
        return list.get(0).type() == type;
    }

    /** Removes a service; returns the entry that serves the name now (null if none). */
    synchronized Entry remove(TargetType type) {
        List<Entry> list = byName.get(type.name());
        if (list == null) return null;
        list.removeIf(e -> e.type() == type);
        if (list.isEmpty()) {
            byName.remove(type.name());
            return null;
        }
        return list.get(0);
    }

    /** The entry of this very service, or null. */
    synchronized Entry entryOf(TargetType type) {
        List<Entry> list = byName.get(type.name());
        if (list != null) for (Entry e : list) if (e.type() == type) return e;
        return null;
    }

    synchronized TargetType get(String name) {
        List<Entry> list = byName.get(name);
        return list == null ? null : list.get(0).type();
    }

    synchronized Entry entry(String name) {
        List<Entry> list = byName.get(name);
        return list == null ? null : list.get(0);
    }

    synchronized boolean has(String name) { return byName.containsKey(name); }

    /** The serving type of each name, the most recently registered first (the kernel's order in {@code dmsetup targets}). */
    synchronized List<TargetTypeInfo> infos() {
        List<Entry> serving = new ArrayList<>();
        for (List<Entry> list : byName.values()) serving.add(list.get(0));
        serving.sort(Comparator.comparingLong(Entry::serviceId).reversed());
        List<TargetTypeInfo> out = new ArrayList<>();
        for (Entry e : serving) {
            TargetType t = e.type();
            Set<String> features = t.features().stream().map(f -> f.name().toLowerCase()).collect(Collectors.toUnmodifiableSet());
            out.add(new TargetTypeInfo(t.name(), t.version(), features, t.usage(), e.bundle()));
        }
        return List.copyOf(out);
    }
}
