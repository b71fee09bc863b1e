package org.ddmapper.targets.multipath;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.ddmapper.targets.multipath.internal.MultipathTarget;
import org.osgi.service.component.annotations.Component;

/**
 * The live multipath maps of this runtime, so the path monitor can find them: a map joins on
 * its first resume and leaves when it is destroyed. Internal to this bundle.
 */
@Component(service = MapRegistry.class)
public class MapRegistry {

    /** Hears maps come and go (the path monitor). Called on the thread that resumed or destroyed the map. */
    public interface Listener {
        void mapAdded(MultipathTarget map);

        void mapRemoved(MultipathTarget map);
    }

    private final CopyOnWriteArrayList<MultipathTarget> maps = new CopyOnWriteArrayList<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** A map's table went live (idempotent). */
    public void live(MultipathTarget map) {
        if (maps.addIfAbsent(map)) listeners.forEach(l -> l.mapAdded(map));
    }

    /** A map was destroyed. */
    public void gone(MultipathTarget map) {
        if (maps.remove(map)) listeners.forEach(l -> l.mapRemoved(map));
    }

    public List<MultipathTarget> maps() { return List.copyOf(maps); }

    /** Adds a listener and tells it about every map already live. */
    public void listen(Listener l) {
        listeners.add(l);
        maps.forEach(l::mapAdded);
    }

    public void unlisten(Listener l) { listeners.remove(l); }
}
