package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ddmapper.api.Bio;

/**
 * Text views of a map for operators, shaped like multipath-tools':
 * {@code show topology} like {@code multipath -ll}, {@code show paths} like
 * {@code multipathd show paths}, {@code show daemon} the monitor's counters.
 */
public final class TopologyView {
    private TopologyView() {}

    static String show(MultipathTarget t, List<String> what) {
        String noun = what.isEmpty() ? "topology" : what.get(0).toLowerCase(Locale.ROOT);
        if (what.size() > 1) throw MessageHandler.invalid("show " + noun + " takes no further words");
        return switch (noun) {
            case "topology", "map" -> topology(t);
            case "paths" -> paths(t, true);
            case "daemon", "status" -> t.watcher().daemonStatus();
            default -> throw MessageHandler.invalid("unknown view 'show " + MessageHandler.abbreviate(noun)
                    + "' (expected show topology, show paths or show daemon)");
        };
    }

    /** The map as {@code multipath -ll} draws it. */
    public static String topology(MultipathTarget t) {
        List<Row> rows = rows(t);
        StringBuilder sb = new StringBuilder();
        synchronized (t.state().lock) {
            List<String> features = t.features().tableWords(t.state().queueIfNoPathLocked());
            sb.append(t.name()).append(" (dm:").append(t.name()).append(") multipath\n");
            sb.append("size=").append(humanSize(t.context().lengthSectors() * Bio.SECTOR_BYTES))
                    .append(" features='").append(features.size()).append(features.isEmpty() ? "" : " ")
                    .append(String.join(" ", features)).append("' hwhandler='").append(t.hwHandler().size())
                    .append(t.hwHandler().isEmpty() ? "" : " " + String.join(" ", t.hwHandler())).append("' wp=")
                    .append(t.context().readOnly() ? "ro" : "rw").append(" queued=").append(t.state().queuedLocked())
                    .append(t.state().suspendedLocked() ? " suspended" : "").append('\n');
            List<PriorityGroup> groups = t.groups();
            for (int gi = 0; gi < groups.size(); gi++) {
                PriorityGroup g = groups.get(gi);
                boolean lastGroup = gi == groups.size() - 1;
                String state = switch (StatusText.groupState(t, g)) {
                    case "A" -> "active";
                    case "D" -> "disabled";
                    default -> "enabled";
                };
                sb.append(lastGroup ? "`-+- " : "|-+- ").append("policy='").append(g.selector().name())
                        .append(" 0' group=").append(g.number()).append(" status=").append(state).append('\n');
                List<Path> paths = g.paths();
                for (int pi = 0; pi < paths.size(); pi++) {
                    Row r = rows.get(paths.get(pi).number() - 1);
                    sb.append(lastGroup ? "  " : "| ").append(pi == paths.size() - 1 ? "`- " : "|- ")
                            .append(r.number).append(' ').append(r.reference).append(' ').append(r.dmState).append(' ')
                            .append(r.checkerState).append(' ').append(r.checker).append(" fail=").append(r.failCount);
                    if (!r.transport.equals(Path.TRANSPORT_TABLE)) sb.append(" transport=").append(r.transport);
                    if (!r.reason.isEmpty()) sb.append(" (").append(r.reason).append(')');
                    sb.append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** One line per path, like {@code multipathd show paths}; {@code header} adds the column names. */
    public static String paths(MultipathTarget t, boolean header) {
        List<String[]> table = new ArrayList<>();
        if (header) table.add(new String[] {"map", "path", "dev", "group", "dm_st", "chk_st", "checker", "failures",
                "next_check", "transport", "reason"});
        for (Row r : rows(t)) {
            table.add(new String[] {t.name(), Integer.toString(r.number), r.reference, Integer.toString(r.group),
                    r.dmState, r.checkerState.replace(' ', '_'), r.checker, Integer.toString(r.failCount),
                    r.nextCheckSeconds < 0 ? "-" : r.nextCheckSeconds + "s", r.transport, r.reason.isEmpty() ? "-" : r.reason});
        }
        return columns(table);
    }

    private record Row(int number, String reference, int group, String dmState, String checkerState, String checker,
                       int failCount, long nextCheckSeconds, String transport, String reason) {}

    private static List<Row> rows(MultipathTarget t) {
        MapWatcher w = t.watcher();
        List<Row> rows = new ArrayList<>();
        for (Path p : t.paths()) {
            boolean active;
            int fails;
            String failure;
            String transport;
            synchronized (t.state().lock) {
                active = p.isActive();
                fails = p.failCount();
                failure = p.lastFailure();
                transport = p.transport();
            }
            MapWatcher.PathReport report = w.report(t, p);
            String reason = active ? "" : failure;
            if (report.message() != null && !report.message().isEmpty() && !report.state().equals("ready"))
                reason = reason.isEmpty() ? report.message() : reason + "; checker: " + report.message();
            rows.add(new Row(p.number(), p.reference(), p.group().number(), active ? "active" : "failed",
                    report.state(), report.checker(), fails, report.nextCheckSeconds(), transport, reason));
        }
        return rows;
    }

    private static String columns(List<String[]> table) {
        if (table.isEmpty()) return "";
        int[] width = new int[table.get(0).length];
        for (String[] row : table) for (int i = 0; i < row.length; i++) width[i] = Math.max(width[i], row[i].length());
        StringBuilder sb = new StringBuilder();
        for (String[] row : table) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                if (i > 0) line.append(' ');
                line.append(i == row.length - 1 ? row[i] : String.format("%-" + width[i] + "s", row[i]));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    /** multipath-tools' size style: 512K, 1.0G, 2.5T. */
    static String humanSize(long bytes) {
        String[] units = {"K", "M", "G", "T", "P"};
        double v = bytes / 1024.0;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return v == Math.floor(v) && v < 1000 ? String.format(Locale.ROOT, "%.0f%s", v, units[u])
                : String.format(Locale.ROOT, "%.1f%s", v, units[u]);
    }
}
