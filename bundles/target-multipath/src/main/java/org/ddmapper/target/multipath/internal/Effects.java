package org.ddmapper.target.multipath.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Work decided under the target's lock but done after it is released: raising events,
 * telling the monitor, completing or re-dispatching requests, closing devices. Keeps the
 * lock free of calls into the core and of other locks.
 */
final class Effects {
    private final List<Runnable> actions = new ArrayList<>();

    void add(Runnable action) { actions.add(action); }

    void run() {
        for (Runnable r : actions) r.run();
        actions.clear();
    }
}
