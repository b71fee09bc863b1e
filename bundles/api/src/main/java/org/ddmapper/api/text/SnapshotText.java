package org.ddmapper.api.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetStatus;

/**
 * Every snapshot of every device, as {@code lvs} would show them, composed from what the devices
 * already answer (their live table and status lines): one row per {@code snapshot} or
 * {@code snapshot-merge} target with the origin (the device whose {@code snapshot-origin} or
 * {@code snapshot-merge} table names the same origin, else the origin as written), the COW
 * device, the store, how full the COW is (lvs's Data%: allocated over total sectors) and the
 * state. One place for every front end ({@code ddsetup snapshots}, the console's
 * {@code dm:snapshots}), so their output is identical.
 *
 * <p>States: {@code active}, {@code suspended}, {@code invalid}, {@code overflow} (PO, full),
 * {@code merging}, {@code merged} (nothing left to merge), {@code merge failed}, and
 * {@code waiting} while the snapshot bundle is being upgraded.
 */
public final class SnapshotText {
    public static final String NO_SNAPSHOTS = "No snapshots found\n";
    /** The words a front end accepts after {@code snapshots}. */
    public static final String SYNTAX = "snapshots [NAME]";
    static final List<String> HEADER = List.of("NAME", "ORIGIN", "COW", "STORE", "DATA%", "STATE");

    private SnapshotText() {}

    /** A snapshot or merge target found in a device's live table. */
    private record Found(String device, boolean suspended, boolean merge, String origin, String cow, String store, String info) {}

    /**
     * The view of every snapshot (device null), or of that device: a snapshot's row, or the rows
     * of an origin's snapshots. A device that is neither is EINVAL, one that does not exist ENXIO.
     */
    public static String render(DeviceManager manager, DeviceRef device) {
        String name = device == null ? null : manager.info(device).name();
        List<Found> found = new ArrayList<>();
        List<String[]> origins = new ArrayList<>(); // device, origin reference
        for (DeviceInfo d : manager.list()) collect(manager, d, found, origins);
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        boolean named = name == null;
        for (Found f : found) {
            String originName = originOf(f, origins);
            if (name != null && !name.equals(f.device) && !name.equals(originName)) continue;
            named = true;
            rows.add(List.of(f.device, originName, f.cow, f.store, percent(f.info), state(f)));
        }
        if (!named) {
            throw new DmException(Errno.EINVAL, "device '" + name + "' is neither a snapshot nor the origin of one");
        }
        return rows.size() == 1 ? NO_SNAPSHOTS : MultipathText.Columns.render(rows);
    }

    private static void collect(DeviceManager manager, DeviceInfo d, List<Found> found, List<String[]> origins) {
        DeviceRef ref = DeviceRef.id(d.id());
        LiveLines lines = LiveLines.of(manager, ref);
        if (lines == null) return; // removed meanwhile
        List<TargetStatus> table = lines.table();
        List<TargetStatus> status = lines.status();
        for (int i = 0; i < table.size(); i++) {
            String type = table.get(i).type();
            List<String> words = TableLine.splitWords(table.get(i).text() == null ? "" : table.get(i).text());
            String info = i < status.size() && status.get(i).text() != null ? status.get(i).text() : "";
            switch (type) {
                case "snapshot-origin" -> {
                    if (!words.isEmpty()) origins.add(new String[] {d.name(), words.get(0)});
                }
                case "snapshot", "snapshot-merge" -> {
                    if (words.size() < 4) {
                        found.add(new Found(d.name(), d.suspended(), type.equals("snapshot-merge"), "-", "-", "-", info));
                        continue;
                    }
                    boolean merge = type.equals("snapshot-merge");
                    if (merge) origins.add(new String[] {d.name(), words.get(0)});
                    found.add(new Found(d.name(), d.suspended(), merge, words.get(0), words.get(1), words.get(2) + " " + words.get(3), info));
                }
                default -> { }
            }
        }
    }

    private static String originOf(Found f, List<String[]> origins) {
        for (String[] o : origins) if (o[1].equals(f.origin)) return o[0];
        return f.origin;
    }

    /** allocated/total in percent, two decimals; "-" when the status has no usage. */
    static String percent(String info) {
        String[] w = info.trim().split("\\s+");
        int slash = w[0].indexOf('/');
        if (w.length != 2 || slash < 0) return "-";
        try {
            double allocated = Long.parseLong(w[0].substring(0, slash));
            double total = Long.parseLong(w[0].substring(slash + 1));
            return total == 0 ? "-" : String.format(Locale.ROOT, "%.2f", 100 * allocated / total);
        } catch (NumberFormatException e) {
            return "-";
        }
    }

    static String state(Found f) {
        String info = f.info.trim();
        if (info.startsWith("waiting for target type")) return "waiting";
        switch (info) {
            case "Invalid" -> { return "invalid"; }
            case "Overflow" -> { return "overflow"; }
            case "Merge failed" -> { return "merge failed"; }
            default -> { }
        }
        if (f.merge) {
            String[] w = info.split("\\s+");
            boolean done = w.length == 2 && w[0].contains("/") && w[0].substring(0, w[0].indexOf('/')).equals(w[1]);
            return done ? "merged" : "merging";
        }
        return f.suspended ? "suspended" : "active";
    }
}
