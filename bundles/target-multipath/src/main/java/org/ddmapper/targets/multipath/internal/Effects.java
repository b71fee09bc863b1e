package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Work decided under the target's lock but done after it is released: completing or
 * re-dispatching requests, closing devices. Keeps the lock free of calls into the core and of
 * other locks. Events and monitor notices are not collected here but in the target's ordered
 * notice queue (filled under the lock, so in the order of the state changes); {@code first}
 * publishes that queue before the other work runs, so whoever sees a request fail or move
 * can already read why.
 */
final class Effects {
    private final Runnable first;
    private final List<Runnable> actions = new ArrayList<>();

    Effects() { this(null); }

    Effects(Runnable first) { this.first = first; }

    void add(Runnable action) { actions.add(action); }

    void run() {
        if (first != null) first.run();
        for (Runnable r : actions) r.run();
        actions.clear();
    }
}
