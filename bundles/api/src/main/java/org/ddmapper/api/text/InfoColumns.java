package org.ddmapper.api.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * {@code dmsetup info -c}: one line per device, with the fields {@code -o} picks, sorted by
 * {@code -O}, as libdevmapper's report prints it. With headings and no {@code --separator} the
 * columns are aligned (strings left, numbers right, each column as wide as its default width,
 * its heading and its widest value, separated by one space; the heading line and string columns
 * are padded to the end); otherwise values are joined by the separator ({@code :} by default)
 * without padding. The fields are dmsetup's, less those that name kernel block devices;
 * device numbers are ddmapper's ({@link DmText#MAJOR}, the instance id).
 */
public final class InfoColumns {
    /** dmsetup's default {@code -o}. */
    public static final List<Field> DEFAULT = List.of(Field.NAME, Field.MAJOR, Field.MINOR, Field.ATTR, Field.OPEN,
            Field.SEGMENTS, Field.EVENTS, Field.UUID);

    private InfoColumns() {}

    /** The report's sections, as {@code -o help} lists them. */
    enum Section {
        NAME("Mapped Device Name Fields", "name_all"),
        INFO("Mapped Device Information Fields", "info_all"),
        DEPS("Mapped Device Relationship Information Fields", "deps_all");

        final String title;
        final String all;

        Section(String title, String all) {
            this.title = title;
            this.all = all;
        }
    }

    /** One column: its {@code -o} name, heading, default width, alignment and help line. */
    public enum Field {
        NAME(Section.NAME, "name", "Name", 16, false, "Name of mapped device."),
        MANGLED_NAME(Section.NAME, "mangled_name", "MangledName", 16, false, "Mangled name of mapped device."),
        UNMANGLED_NAME(Section.NAME, "unmangled_name", "UnmangledName", 16, false, "Unmangled name of mapped device."),
        UUID(Section.NAME, "uuid", "UUID", 32, false, "Unique (optional) identifier for mapped device."),
        MANGLED_UUID(Section.NAME, "mangled_uuid", "MangledUUID", 32, false, "Mangled unique (optional) identifier for mapped device."),
        UNMANGLED_UUID(Section.NAME, "unmangled_uuid", "UnmangledUUID", 32, false,
                "Unmangled unique (optional) identifier for mapped device."),
        READ_AHEAD(Section.NAME, "read_ahead", "RAhead", 6, true, "Read ahead value."),
        ATTR(Section.INFO, "attr", "Stat", 4, false, "(L)ive, (I)nactive, (s)uspended, (r)ead-only, read-(w)rite."),
        TABLES_LOADED(Section.INFO, "tables_loaded", "Tables", 6, false, "Which of the live and inactive table slots are filled."),
        SUSPENDED(Section.INFO, "suspended", "Suspended", 9, false, "Whether the device is suspended."),
        READONLY(Section.INFO, "readonly", "Read-only", 9, false, "Whether the device is read-only or writeable."),
        DEVNO(Section.INFO, "devno", "DevNo", 5, false, "Device major and minor numbers"),
        MAJOR(Section.INFO, "major", "Maj", 3, true, "Block device major number."),
        MINOR(Section.INFO, "minor", "Min", 3, true, "Block device minor number."),
        OPEN(Section.INFO, "open", "Open", 4, true, "Number of references to open device, if requested."),
        SEGMENTS(Section.INFO, "segments", "Targ", 4, true, "Number of segments in live table, if present."),
        EVENTS(Section.INFO, "events", "Event", 6, true, "Number of most recent event."),
        DEVICE_COUNT(Section.DEPS, "device_count", "#Devs", 5, true, "Number of devices used by this one."),
        DEVS_USED(Section.DEPS, "devs_used", "DevNamesUsed", 16, false, "List of names of mapped devices used by this one."),
        DEVNOS_USED(Section.DEPS, "devnos_used", "DevNosUsed", 16, false, "List of device numbers of devices used by this one."),
        BLKDEVS_USED(Section.DEPS, "blkdevs_used", "BlkDevNamesUsed", 16, false, "List of names of block devices used by this one."),
        DEVICE_REF_COUNT(Section.DEPS, "device_ref_count", "#Refs", 5, true, "Number of mapped devices referencing this one."),
        NAMES_USING_DEV(Section.DEPS, "names_using_dev", "RefNames", 8, false, "List of names of mapped devices using this one."),
        DEVNOS_USING_DEV(Section.DEPS, "devnos_using_dev", "RefDevNos", 9, false,
                "List of device numbers of mapped devices using this one.");

        final Section section;
        final String id;
        final String heading;
        final int width;
        final boolean numeric;
        final String help;

        Field(Section section, String id, String heading, int width, boolean numeric, String help) {
            this.section = section;
            this.id = id;
            this.heading = heading;
            this.width = width;
            this.numeric = numeric;
            this.help = help;
        }

        /** The name {@code -o} takes. */
        public String id() { return id; }

        boolean needsRelations() { return section == Section.DEPS; }
    }

    /** dmsetup fields ddmapper has no value for, with the reason given when one is asked for. */
    private static final Map<String, String> ABSENT = Map.of(
            "blkdevname", "ddmapper's devices are not kernel block devices (clients reach them over NBD)");

    /** The {@code -c} options: fields, sort keys (a leading '-' sorts descending), headings, separator (null: aligned). */
    public record Options(List<Field> fields, List<String> sort, boolean headings, String separator) {
        public Options {
            fields = List.copyOf(fields);
            sort = List.copyOf(sort);
        }

        /** dmsetup's default report. */
        public static Options defaults() { return new Options(DEFAULT, List.of(), true, null); }

        /**
         * Reads {@code -o} (null: the default fields; {@code +a,b} adds to them; {@code x_all}
         * a whole section) and {@code -O} (null: none); unknown names throw, naming the word.
         */
        public static Options parse(String fields, String sort, boolean headings, String separator) {
            List<Field> picked = new ArrayList<>();
            String spec = fields;
            if (spec == null) {
                picked.addAll(DEFAULT);
            } else {
                if (spec.startsWith("+")) {
                    picked.addAll(DEFAULT);
                    spec = spec.substring(1);
                }
                for (String word : words(spec, "-o")) picked.addAll(fieldsOf(word));
            }
            List<String> keys = new ArrayList<>();
            if (sort != null) {
                for (String word : words(sort, "--sort")) {
                    String bare = word.startsWith("-") || word.startsWith("+") ? word.substring(1) : word;
                    if (fieldsOf(bare).size() != 1) throw invalid("--sort: '" + bare + "' is not a single field");
                    keys.add(word.startsWith("+") ? bare : word);
                }
            }
            return new Options(picked, keys, headings, separator);
        }

        /** The options as a command line writes them. */
        public List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of("--columns", "-o", String.join(",", fields.stream().map(Field::id).toList())));
            if (!sort.isEmpty()) a.addAll(List.of("--sort", String.join(",", sort)));
            if (!headings) a.add("--noheadings");
            if (separator != null) a.addAll(List.of("--separator", separator));
            return a;
        }
    }

    private static List<String> words(String spec, String option) {
        if (spec.isEmpty()) throw invalid(option + " needs at least one field");
        List<String> out = new ArrayList<>();
        for (String w : spec.split(",", -1)) {
            if (w.isEmpty()) throw invalid(option + ": empty field name in '" + spec + "'");
            out.add(w);
        }
        return out;
    }

    /** One {@code -o} word: a field, or a section's {@code _all}. */
    private static List<Field> fieldsOf(String word) {
        for (Field f : Field.values()) if (f.id.equals(word)) return List.of(f);
        for (Section s : Section.values()) {
            if (s.all.equals(word)) return Arrays.stream(Field.values()).filter(f -> f.section == s).toList();
        }
        if (ABSENT.containsKey(word)) throw invalid("field '" + word + "' is not available: " + ABSENT.get(word));
        throw invalid("unknown field '" + word + "' (" + "help -c lists the fields)");
    }

    private static DmException invalid(String message) { return new DmException(Errno.EINVAL, message); }

    /** {@code -o help}, {@code help -c}: every field by section, as dmsetup lists them. */
    public static String help() {
        StringBuilder sb = new StringBuilder();
        for (Section s : Section.values()) {
            sb.append(s.title).append('\n').append("-".repeat(s.title.length())).append('\n');
            line(sb, s.all, "All fields in this section.");
            for (Field f : Field.values()) if (f.section == s) line(sb, f.id, f.help);
            sb.append(" \n");
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String name, String help) {
        sb.append("  ").append(name).append(" ".repeat(Math.max(1, 22 - name.length()))).append("- ").append(help).append('\n');
    }

    /** The report of these devices, in this order unless the options sort them. */
    public static String render(DeviceManager manager, List<DeviceInfo> devices, Options o) {
        Relations relations = o.fields.stream().anyMatch(Field::needsRelations)
                || o.sort.stream().anyMatch(k -> fieldsOf(k.replaceFirst("^-", "")).get(0).needsRelations())
                ? Relations.of(manager) : null;
        List<Map<Field, String>> rows = new ArrayList<>();
        for (DeviceInfo d : devices) rows.add(row(d, relations));
        rows.sort(order(o.sort));
        boolean aligned = o.headings && o.separator == null;
        String sep = o.separator != null ? o.separator : aligned ? " " : ":";
        int[] widths = new int[o.fields.size()];
        for (int i = 0; i < widths.length; i++) {
            Field f = o.fields.get(i);
            widths[i] = Math.max(f.width, f.heading.length());
            for (Map<Field, String> r : rows) widths[i] = Math.max(widths[i], r.get(f).length());
        }
        StringBuilder sb = new StringBuilder();
        if (o.headings) {
            for (int i = 0; i < widths.length; i++) {
                if (i > 0) sb.append(sep);
                cell(sb, o.fields.get(i).heading, aligned ? widths[i] : 0, false);
            }
            sb.append('\n');
        }
        for (Map<Field, String> r : rows) {
            for (int i = 0; i < widths.length; i++) {
                if (i > 0) sb.append(sep);
                Field f = o.fields.get(i);
                cell(sb, r.get(f), aligned ? widths[i] : 0, f.numeric);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void cell(StringBuilder sb, String value, int width, boolean right) {
        String pad = " ".repeat(Math.max(0, width - value.length()));
        if (right) sb.append(pad).append(value);
        else sb.append(value).append(pad);
    }

    private static Comparator<Map<Field, String>> order(List<String> keys) {
        Comparator<Map<Field, String>> c = (a, b) -> 0;
        for (String key : keys) {
            boolean descending = key.startsWith("-");
            Field f = fieldsOf(descending ? key.substring(1) : key).get(0);
            Comparator<Map<Field, String>> k = f.numeric
                    ? Comparator.comparingLong(r -> Long.parseLong(r.get(f)))
                    : (a, b) -> Arrays.compareUnsigned(a.get(f).getBytes(StandardCharsets.UTF_8), b.get(f).getBytes(StandardCharsets.UTF_8));
            c = c.thenComparing(descending ? k.reversed() : k);
        }
        return c;
    }

    private static Map<Field, String> row(DeviceInfo d, Relations relations) {
        Map<Field, String> r = new LinkedHashMap<>();
        r.put(Field.NAME, d.name());
        r.put(Field.MANGLED_NAME, d.name());
        r.put(Field.UNMANGLED_NAME, d.name());
        r.put(Field.UUID, "");
        r.put(Field.MANGLED_UUID, "");
        r.put(Field.UNMANGLED_UUID, "");
        r.put(Field.READ_AHEAD, Integer.toString(DmText.READ_AHEAD_SECTORS));
        r.put(Field.ATTR, (d.liveTable() ? "L" : "-") + (d.inactiveTable() ? "I" : "-") + (d.suspended() ? "s" : "-")
                + (d.readOnly() ? "r" : "w"));
        r.put(Field.TABLES_LOADED, d.liveTable() ? (d.inactiveTable() ? "Both" : "Live") : d.inactiveTable() ? "Inactive" : "None");
        r.put(Field.SUSPENDED, d.suspended() ? "Suspended" : "Active");
        r.put(Field.READONLY, d.readOnly() ? "Read-only" : "Writeable");
        r.put(Field.DEVNO, DmText.MAJOR + ":" + d.id());
        r.put(Field.MAJOR, Integer.toString(DmText.MAJOR));
        r.put(Field.MINOR, Long.toString(d.id()));
        r.put(Field.OPEN, Integer.toString(d.openCount()));
        r.put(Field.SEGMENTS, Integer.toString(d.liveTable() ? d.targetCount() : 0));
        r.put(Field.EVENTS, Long.toString(d.eventNr()));
        if (relations != null) {
            List<String> deps = relations.deps(d.id());
            List<String> used = new ArrayList<>();
            for (String ref : deps) if (ref.startsWith(DeviceTree.DM_PREFIX)) used.add(ref.substring(DeviceTree.DM_PREFIX.length()));
            List<DeviceInfo> users = relations.users(d.name());
            r.put(Field.DEVICE_COUNT, Integer.toString(deps.size()));
            r.put(Field.DEVS_USED, String.join(",", used));
            r.put(Field.DEVNOS_USED, String.join(",", deps));
            r.put(Field.BLKDEVS_USED, String.join(",", deps));
            r.put(Field.DEVICE_REF_COUNT, Integer.toString(users.size()));
            r.put(Field.NAMES_USING_DEV, String.join(",", users.stream().map(DeviceInfo::name).toList()));
            r.put(Field.DEVNOS_USING_DEV, String.join(",", users.stream().map(u -> DmText.MAJOR + ":" + u.id()).toList()));
        }
        return r;
    }

    /** Who uses whom: every device's references (kernel order) and, per name, the devices whose tables reference it. */
    record Relations(Map<Long, List<String>> depsById, List<DeviceInfo> devices) {
        static Relations of(DeviceManager manager) {
            Map<Long, List<String>> deps = new LinkedHashMap<>();
            List<DeviceInfo> devices = manager.list();
            for (DeviceInfo d : devices) deps.put(d.id(), DmText.depsOrEmpty(manager, DeviceRef.id(d.id())));
            return new Relations(deps, devices);
        }

        List<String> deps(long id) { return depsById.getOrDefault(id, List.of()); }

        List<DeviceInfo> users(String name) {
            List<DeviceInfo> users = new ArrayList<>();
            for (DeviceInfo d : DmText.byName(devices)) if (deps(d.id()).contains(DeviceTree.DM_PREFIX + name)) users.add(d);
            return users;
        }
    }
}
