package org.ddmapper.api.text;

import java.util.List;
import java.util.function.Function;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.StoredBundle;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.api.UpgradeReport;

/**
 * The text of dmsetup's read-only verbs, computed from a {@link DeviceManager}. A verb given a
 * device prints that device; given null it prints every device, each line prefixed with
 * {@code NAME: } as dmsetup does (devices removed meanwhile are skipped). Every result ends
 * with a newline unless it is empty.
 */
public final class DmText {
    /** dmsetup's answer when there is nothing to list. */
    public static final String NO_DEVICES = "No devices found\n";

    private DmText() {}

    /** {@code dmsetup ls}: {@code NAME<TAB>(ID)} per device. */
    public static String ls(DeviceManager manager) {
        List<DeviceInfo> devices = manager.list();
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) sb.append(d.name()).append('\t').append('(').append(d.id()).append(')').append('\n');
        return sb.toString();
    }

    /** {@code dmsetup info}: the long form, devices separated by a blank line. */
    public static String info(DeviceManager manager, DeviceRef device) {
        if (device != null) return info(manager.info(device));
        List<DeviceInfo> devices = manager.list();
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) {
            if (sb.length() > 0) sb.append('\n');
            sb.append(info(d));
        }
        return sb.toString();
    }

    /** One device's long info block. */
    public static String info(DeviceInfo d) {
        StringBuilder sb = new StringBuilder();
        field(sb, "Name:", d.name());
        field(sb, "State:", d.state() + (d.readOnly() ? " (READ-ONLY)" : ""));
        field(sb, "Tables present:", d.tablesPresent());
        field(sb, "Open count:", Integer.toString(d.openCount()));
        field(sb, "Event number:", Long.toString(d.eventNr()));
        field(sb, "Device id:", Long.toString(d.id()));
        if (d.liveTable()) {
            field(sb, "Number of targets:", Integer.toString(d.targetCount()));
            field(sb, "Size:", d.sizeSectors() + " sectors");
        }
        if (d.heldRequests() > 0) field(sb, "Held requests:", Integer.toString(d.heldRequests()));
        if (d.missingType() != null) field(sb, "Missing type:", d.missingType());
        return sb.toString();
    }

    /** {@code dmsetup status}: {@code <start> <length> <type> <INFO>} per target of the live table. */
    public static String status(DeviceManager manager, DeviceRef device) {
        return perDevice(manager, device, ref -> lines(manager.status(ref)));
    }

    /** {@code dmsetup table [--inactive]}: {@code <start> <length> <type> <TABLE>} per target. */
    public static String table(DeviceManager manager, DeviceRef device, boolean inactive) {
        return perDevice(manager, device, ref -> lines(manager.table(ref, inactive)));
    }

    /** {@code dmsetup deps}: {@code N dependencies<TAB>: (REF) (REF)...}, references as written in the table. */
    public static String deps(DeviceManager manager, DeviceRef device) {
        return perDevice(manager, device, ref -> {
            List<String> deps = manager.deps(ref);
            StringBuilder sb = new StringBuilder().append(deps.size()).append(" dependencies\t:");
            for (String d : deps) sb.append(" (").append(d).append(')');
            return sb.append('\n').toString();
        });
    }

    /** {@code dmsetup targets}: {@code NAME  vX.Y.Z} per registered target type. */
    public static String targets(DeviceManager manager) {
        StringBuilder sb = new StringBuilder();
        for (TargetTypeInfo t : manager.targets()) sb.append(t).append('\n');
        return sb.toString();
    }

    /**
     * {@code dmsetup version}: the library is the api bundle every client builds on, the driver
     * the bundle that provides the {@link DeviceManager} (the core).
     */
    public static String version(String apiBundleVersion, String coreBundleVersion) {
        StringBuilder sb = new StringBuilder();
        field(sb, "Library version:", "ddmapper-api " + apiBundleVersion);
        field(sb, "Driver version:", "ddmapper " + coreBundleVersion);
        return sb.toString();
    }

    /** {@code ddsetup upgrade}: {@code upgraded BUNDLE FROM -> TO (N devices, max stall M ms)}. */
    public static String upgraded(UpgradeReport r) {
        return swapped("upgraded", r);
    }

    private static String swapped(String verb, UpgradeReport r) {
        int n = r.devices().size();
        return verb + " " + r.bundle() + " " + r.fromVersion() + " -> " + r.toVersion() + " (" + n + (n == 1 ? " device" : " devices")
                + ", max stall " + r.maxStallMillis() + " ms)\n";
    }

    /** {@code ddsetup upgrade --revert}: {@code reverted BUNDLE FROM -> TO (N devices, max stall M ms)}. */
    public static String reverted(UpgradeReport r) {
        return swapped("reverted", r);
    }

    /**
     * {@code ddsetup upgrade --list}: per bundle {@code BUNDLE image VERSION running VERSION}, then one
     * indented line per stored version, newest first: {@code VERSION STATUS TIME from VERSION}, with
     * {@code : REASON} for one set aside and {@code over image VERSION} for one stored over another image.
     */
    public static String stored(List<StoredBundle> bundles) {
        if (bundles.isEmpty()) return "no upgrades stored\n";
        StringBuilder sb = new StringBuilder();
        for (StoredBundle b : bundles) {
            sb.append(b.bundle()).append(" image ").append(orNone(b.imageVersion())).append(" running ").append(orNone(b.runningVersion())).append('\n');
            for (StoredBundle.Version v : b.versions()) {
                sb.append("  ").append(v.version()).append(' ').append(v.status().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'))
                        .append(' ').append(v.at()).append(" from ").append(v.from());
                if (v.status() == StoredBundle.Status.OTHER_IMAGE) sb.append(" over image ").append(v.image());
                if (!v.reason().isEmpty()) sb.append(": ").append(v.reason());
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static String orNone(String version) {
        return version.isEmpty() ? "none" : version;
    }

    /** {@code ddsetup events}: one {@link DeviceEvent#toLine()} per event. */
    public static String events(List<DeviceEvent> events) {
        StringBuilder sb = new StringBuilder();
        for (DeviceEvent e : events) sb.append(e.toLine()).append('\n');
        return sb.toString();
    }

    private static String lines(List<TargetStatus> targets) {
        StringBuilder sb = new StringBuilder();
        for (TargetStatus t : targets) sb.append(t).append('\n');
        return sb.toString();
    }

    /** One device's text, or every device's with a name prefix on each line. */
    private static String perDevice(DeviceManager manager, DeviceRef device, Function<DeviceRef, String> render) {
        if (device != null) return render.apply(device);
        List<DeviceInfo> devices = manager.list();
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) {
            String text;
            try {
                text = render.apply(DeviceRef.id(d.id()));
            } catch (DmException e) {
                if (e.errno() == Errno.ENODEV || e.errno() == Errno.ENXIO || e.errno() == Errno.ENOENT) continue;
                throw e;
            }
            if (text.isEmpty()) continue;
            for (String line : text.split("\n")) sb.append(d.name()).append(": ").append(line).append('\n');
        }
        return sb.toString();
    }

    /** dmsetup's aligned field: label padded to 19 columns, then the value. */
    private static void field(StringBuilder sb, String label, String value) {
        sb.append(label);
        for (int i = label.length(); i < 19; i++) sb.append(' ');
        sb.append(value).append('\n');
    }
}
