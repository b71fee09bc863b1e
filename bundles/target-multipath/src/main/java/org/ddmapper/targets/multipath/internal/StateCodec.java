package org.ddmapper.targets.multipath.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.TargetState;
import org.tinylog.Logger;

/**
 * The state a multipath map hands to its next version in a live upgrade (format 1, UTF-8 lines):
 * <pre>
 * group &lt;number in use, 0 none&gt;
 * queue_if_no_path &lt;0|1&gt;
 * bypassed &lt;group&gt;...
 * path &lt;number&gt; &lt;A|F&gt; &lt;fail_count&gt; &lt;reference&gt; [last failure]
 * </pre>
 * A path is matched by number and reference; a path the new table does not have is ignored.
 */
final class StateCodec {
    static final int FORMAT = 1;

    private StateCodec() {}

    /** Called under the target's lock. */
    static TargetState export(MultipathTarget t) {
        StringBuilder sb = new StringBuilder();
        int current = t.state().currentGroupLocked() != null ? t.state().currentGroupLocked().number() : 0;
        sb.append("group ").append(current).append('\n');
        sb.append("queue_if_no_path ").append(t.state().queueIfNoPathLocked() ? 1 : 0).append('\n');
        sb.append("bypassed");
        for (PriorityGroup g : t.groups()) if (g.isBypassed()) sb.append(' ').append(g.number());
        sb.append('\n');
        for (Path p : t.paths()) {
            sb.append("path ").append(p.number()).append(' ').append(p.isActive() ? 'A' : 'F').append(' ')
                    .append(p.failCount()).append(' ').append(TableLine.escape(p.reference()));
            if (!p.lastFailure().isEmpty()) sb.append(' ').append(TableLine.escape(p.lastFailure()));
            sb.append('\n');
        }
        return new TargetState(MultipathTarget.TYPE, FORMAT, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Called under the target's lock, before preresume. */
    static void apply(MultipathTarget t, TargetState state) {
        if (!MultipathTarget.TYPE.equals(state.type()) || state.formatVersion() != FORMAT) {
            Logger.info("multipath {}: ignoring handed-over state {} v{}", t.name(), state.type(), state.formatVersion());
            return;
        }
        int current = 0;
        boolean queue = t.state().queueIfNoPathLocked();
        List<Integer> bypassed = new ArrayList<>();
        for (String line : new String(state.data(), StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) continue;
            List<String> w = TableLine.splitWords(line);
            switch (w.get(0)) {
                case "group" -> current = Integer.parseInt(w.get(1));
                case "queue_if_no_path" -> queue = w.get(1).equals("1");
                case "bypassed" -> w.subList(1, w.size()).forEach(s -> bypassed.add(Integer.parseInt(s)));
                case "path" -> {
                    int number = Integer.parseInt(w.get(1));
                    if (number < 1 || number > t.paths().size()) continue;
                    Path p = t.paths().get(number - 1);
                    if (!p.reference().equals(w.get(4))) continue;
                    t.state().restorePathLocked(p, w.get(2).equals("A"), Integer.parseInt(w.get(3)), w.size() > 5 ? w.get(5) : "");
                }
                default -> { }
            }
        }
        t.state().restoreGroupsLocked(current, bypassed, queue);
    }
}
