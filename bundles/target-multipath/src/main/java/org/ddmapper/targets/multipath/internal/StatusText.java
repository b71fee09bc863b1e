package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.TableLine;
import org.ddmapper.targets.multipath.internal.selector.PathSelector;

/**
 * The kernel's INFO and TABLE lines of a multipath map, as Linux 6.1 writes them: every word
 * followed by a blank, the last one too. Called under the target's lock.
 */
final class StatusText {
    private StatusText() {}

    /**
     * {@code 2 <queue_io 0|1> <pg_init_count> 0 <#groups> <group> } then per group
     * {@code <A|E|D> 0 <#paths> <#info args>} and per path {@code <path> <A|F> <fail_count> [info]}.
     */
    static String info(MultipathTarget t) {
        List<String> w = new ArrayList<>();
        w.add("2");
        w.add(t.state().queueIoLocked() ? "1" : "0");
        w.add("0");
        w.add("0");
        w.add(Integer.toString(t.groups().size()));
        w.add(Integer.toString(t.state().groupNumberLocked()));
        for (PriorityGroup g : t.groups()) {
            w.add(groupState(t, g));
            w.add("0");
            w.add(Integer.toString(g.paths().size()));
            PathSelector s = g.selector();
            w.add(Integer.toString(s.infoArgCount()));
            for (Path p : g.paths()) {
                w.add(TableLine.escape(p.reference()));
                w.add(p.isActive() ? "A" : "F");
                w.add(Integer.toString(p.failCount()));
                if (s.infoArgCount() > 0) w.add(s.infoArgs(p));
            }
        }
        return words(w);
    }

    /** The constructor arguments as they stand now (queue_if_no_path and the group as currently set). */
    static String table(MultipathTarget t) {
        List<String> w = new ArrayList<>();
        List<String> features = t.features().tableWords(t.state().queueIfNoPathLocked());
        w.add(Integer.toString(features.size()));
        w.addAll(features);
        w.add(Integer.toString(t.hwHandler().size()));
        t.hwHandler().forEach(h -> w.add(TableLine.escape(h)));
        w.add(Integer.toString(t.groups().size()));
        w.add(Integer.toString(t.state().groupNumberLocked()));
        for (PriorityGroup g : t.groups()) {
            PathSelector s = g.selector();
            w.add(s.name());
            w.add("0");
            w.add(Integer.toString(g.paths().size()));
            w.add(Integer.toString(s.tableArgCount()));
            for (Path p : g.paths()) {
                w.add(TableLine.escape(p.reference()));
                w.add(s.tableArgs(p));
            }
        }
        return words(w);
    }

    /** The words, each followed by a blank (the kernel's DMEMIT("%s ")). */
    private static String words(List<String> w) {
        StringBuilder sb = new StringBuilder();
        for (String word : w) sb.append(word).append(' ');
        return sb.toString();
    }

    /** A (the group in use), D (bypassed) or E (enabled). */
    static String groupState(MultipathTarget t, PriorityGroup g) {
        if (g.isBypassed()) return "D";
        return g == t.state().currentGroupLocked() ? "A" : "E";
    }
}
