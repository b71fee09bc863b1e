package org.ddmapper.targets.multipath.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.service.component.annotations.Component;

/**
 * The live multipath maps of this runtime and the path monitor watching them: a map joins on its
 * first resume and leaves when it is destroyed, and tells whichever monitor {@link #watcher()}
 * names about its paths. A Declarative Services component shared by the target type and the path
 * monitor; internal to this bundle.
 */
@Component(service = MapRegistry.class)
public class MapRegistry {
    private final CopyOnWriteArrayList<MonitoredMap> maps = new CopyOnWriteArrayList<>();
    private volatile MapWatcher watcher = MapWatcher.NONE;

    /** A map's table went live (idempotent). */
    public void live(MonitoredMap map) {
        if (maps.addIfAbsent(map)) watcher.mapAdded(map);
    }

    /** A map was destroyed. */
    public void gone(MonitoredMap map) {
        if (maps.remove(map)) watcher.mapRemoved(map);
    }

    public List<MonitoredMap> maps() { return List.copyOf(maps); }

    /** The monitor the maps report to (NONE without one). */
    public MapWatcher watcher() { return watcher; }

    /** Makes {@code w} the monitor and tells it about every map already live. */
    public void watch(MapWatcher w) {
        watcher = w;
        maps.forEach(w::mapAdded);
    }

    /** {@code w} stops watching (the maps report to nobody until another monitor watches). */
    public void unwatch(MapWatcher w) {
        if (watcher == w) watcher = MapWatcher.NONE;
    }
}
