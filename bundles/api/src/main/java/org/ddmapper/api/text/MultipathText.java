package org.ddmapper.api.text;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;

/**
 * Views across every multipath map, like {@code multipath -ll} and {@code multipathd show paths},
 * composed from what each map already answers: the devices are listed, those whose live table has
 * a {@code multipath} target are picked, and each such target is sent the read-only message
 * {@code show topology} or {@code show paths}. One place for every front end ({@code ddsetup
 * multipath}, the console's {@code dm:multipath}), so their output is identical.
 *
 * <p>A map removed meanwhile is skipped; a map that cannot answer (its target type is being
 * upgraded, it has no live table) gets one line saying why, so that it is not silently missing.
 */
public final class MultipathText {
    /** The target type whose devices are shown. */
    public static final String TYPE = "multipath";
    /** The answer when no device has a multipath target. */
    public static final String NO_MAPS = "No multipath maps found\n";

    private MultipathText() {}

    /** Which view a command line asks for, and of which map (null: every map). */
    public record Request(boolean paths, String name) {
        /** The view's text. */
        public String render(DeviceManager manager) {
            DeviceRef device = name == null ? null : DeviceRef.of(name);
            return paths ? MultipathText.paths(manager, device) : MultipathText.topology(manager, device);
        }
    }

    /** The words a front end accepts after {@code multipath}, for its usage text. */
    public static final String SYNTAX = "multipath [-ll | show topology | show paths] [NAME]";

    /**
     * Parses the words after {@code multipath}: nothing, {@code -ll}, {@code -l}, {@code show
     * topology} or {@code show maps topology} for the topology; {@code show paths} for the paths;
     * then an optional map name. Anything else is EINVAL, with a sentence naming the word.
     */
    public static Request parse(List<String> words) {
        List<String> w = new ArrayList<>(words);
        boolean paths = false;
        if (!w.isEmpty() && (w.get(0).equals("-ll") || w.get(0).equals("-l"))) {
            w.remove(0);
        } else if (!w.isEmpty() && w.get(0).equals("show")) {
            w.remove(0);
            if (w.size() >= 2 && w.get(0).equals("maps") && w.get(1).equals("topology")) w.remove(0);
            if (w.isEmpty()) throw new DmException(Errno.EINVAL, "multipath show: expected topology or paths");
            String view = w.remove(0);
            switch (view) {
                case "topology" -> paths = false;
                case "paths" -> paths = true;
                default -> throw new DmException(Errno.EINVAL, "multipath show: unknown view '" + view + "' (expected topology or paths)");
            }
        }
        if (!w.isEmpty() && w.get(0).startsWith("-"))
            throw new DmException(Errno.EINVAL, "multipath: unknown option '" + w.get(0) + "' (usage: " + SYNTAX + ")");
        String name = w.isEmpty() ? null : w.remove(0);
        if (!w.isEmpty()) throw new DmException(Errno.EINVAL, "multipath: unexpected '" + w.get(0) + "' (usage: " + SYNTAX + ")");
        return new Request(paths, name);
    }

    /** {@code multipath -ll}: each map's topology, one after the other (or the one named, when not null). */
    public static String topology(DeviceManager manager, DeviceRef device) {
        List<Answer> answers = ask(manager, device, "topology");
        if (answers.isEmpty()) return NO_MAPS;
        StringBuilder sb = new StringBuilder();
        for (Answer a : answers) {
            if (a.failure != null) {
                sb.append(a.name).append(" (dm:").append(a.name).append(") multipath: ").append(a.failure).append('\n');
            } else {
                sb.append(a.text);
                if (!a.text.isEmpty() && !a.text.endsWith("\n")) sb.append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * {@code multipathd show paths}: one table of every map's paths under one header, the columns
     * each map's {@code show paths} has (map, path, dev, group, dm_st, chk_st, checker, failures,
     * next_check, reason), aligned over all rows.
     */
    public static String paths(DeviceManager manager, DeviceRef device) {
        List<Answer> answers = ask(manager, device, "paths");
        if (answers.isEmpty()) return NO_MAPS;
        List<String> header = null;
        List<List<String>> rows = new ArrayList<>();
        StringBuilder failures = new StringBuilder();
        for (Answer a : answers) {
            if (a.failure != null) {
                failures.append(a.name).append(": ").append(a.failure).append('\n');
                continue;
            }
            Columns c = Columns.parse(a.text);
            if (c == null) continue;
            if (header == null) header = c.header;
            else if (!header.equals(c.header)) {
                failures.append(a.name).append(": unexpected columns ").append(String.join(" ", c.header)).append('\n');
                continue;
            }
            rows.addAll(c.rows);
        }
        StringBuilder sb = new StringBuilder();
        if (header != null) {
            List<List<String>> table = new ArrayList<>();
            table.add(header);
            table.addAll(rows);
            sb.append(Columns.render(table));
        }
        return sb.append(failures).toString();
    }

    /** One map's answer to {@code show WHAT}: its text, or why it could not answer. */
    private record Answer(String name, String text, String failure) {}

    /** Every multipath target of the chosen devices, in device then target order. */
    private static List<Answer> ask(DeviceManager manager, DeviceRef device, String what) {
        List<DeviceRef> refs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        if (device != null) {
            DeviceInfo d = manager.info(device);
            refs.add(DeviceRef.id(d.id()));
            names.add(d.name());
        } else {
            for (DeviceInfo d : manager.list()) {
                refs.add(DeviceRef.id(d.id()));
                names.add(d.name());
            }
        }
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < refs.size(); i++) {
            DeviceRef ref = refs.get(i);
            List<TargetStatus> table;
            try {
                table = manager.table(ref, false);
            } catch (DmException e) {
                if (DmText.gone(manager, ref)) continue;
                throw e;
            }
            for (int t = 0; t < table.size(); t++) {
                if (!TYPE.equals(table.get(t).type())) continue;
                try {
                    String text = manager.message(ref, new TargetRef.ByIndex(t), Message.of("show", what));
                    answers.add(new Answer(names.get(i), text == null ? "" : text, null));
                } catch (DmException e) {
                    if (DmText.gone(manager, ref)) break;
                    answers.add(new Answer(names.get(i), null, e.getMessage()));
                }
            }
        }
        if (device != null && answers.isEmpty())
            throw new DmException(Errno.EINVAL, "device '" + names.get(0) + "' has no multipath target");
        return answers;
    }

    /**
     * A column-aligned table as the multipath target's {@code show paths} prints it: a header of
     * single words, each column left-aligned and padded to its widest cell, one space between
     * columns, the last column unpadded. Cells are read at the header words' positions, so a cell
     * may contain spaces.
     */
    record Columns(List<String> header, List<List<String>> rows) {
        static Columns parse(String text) {
            String[] lines = text.split("\n");
            if (lines.length == 0 || lines[0].isBlank()) return null;
            String head = lines[0];
            List<Integer> starts = new ArrayList<>();
            List<String> header = new ArrayList<>();
            for (int i = 0; i < head.length(); i++) {
                if (head.charAt(i) != ' ' && (i == 0 || head.charAt(i - 1) == ' ')) {
                    starts.add(i);
                    int end = head.indexOf(' ', i);
                    header.add(head.substring(i, end < 0 ? head.length() : end));
                }
            }
            List<List<String>> rows = new ArrayList<>();
            for (int l = 1; l < lines.length; l++) {
                String line = lines[l];
                if (line.isBlank()) continue;
                List<String> row = new ArrayList<>();
                for (int c = 0; c < starts.size(); c++) {
                    int from = Math.min(starts.get(c), line.length());
                    int to = c + 1 < starts.size() ? Math.min(starts.get(c + 1) - 1, line.length()) : line.length();
                    row.add(from >= to ? "" : line.substring(from, to).strip());
                }
                rows.add(row);
            }
            return new Columns(List.copyOf(header), rows);
        }

        static String render(List<List<String>> table) {
            int[] width = new int[table.get(0).size()];
            for (List<String> row : table) for (int i = 0; i < row.size() && i < width.length; i++) width[i] = Math.max(width[i], row.get(i).length());
            StringBuilder sb = new StringBuilder();
            for (List<String> row : table) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < row.size(); i++) {
                    if (i > 0) line.append(' ');
                    line.append(row.get(i));
                    if (i < row.size() - 1) for (int k = row.get(i).length(); k < width[i]; k++) line.append(' ');
                }
                sb.append(line.toString().stripTrailing()).append('\n');
            }
            return sb.toString();
        }
    }
}
