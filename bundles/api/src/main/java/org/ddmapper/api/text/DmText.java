package org.ddmapper.api.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
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
 * The text of dmsetup's read-only verbs, computed from a {@link DeviceManager}, byte for byte as
 * dmsetup 1.02.185 prints it over Linux 6.1 (the compatibility suite in tests/ compares them).
 * A verb given a device prints that device; given null it prints every device, by name, each
 * line prefixed with {@code NAME: } (devices removed meanwhile are skipped). Where the kernel
 * prints a device number ddmapper prints {@link #MAJOR} and the device's instance id (its
 * devices are not kernel block devices, so no number can be mistaken for one); references to
 * other devices print as written in the table.
 */
public final class DmText {
    /** dmsetup's answer when there is nothing to list. */
    public static final String NO_DEVICES = "No devices found\n";
    /** The major number ddmapper's devices report: 0, never a block device's, so a script cannot reach a kernel device by it. */
    public static final int MAJOR = 0;
    /** The read-ahead dmsetup reports for a device-mapper device (the kernel's default, 256 sectors). */
    public static final int READ_AHEAD_SECTORS = 256;

    private DmText() {}

    /** {@code dmsetup ls}: {@code NAME<TAB>(MAJOR:ID)} per device, by name. */
    public static String ls(DeviceManager manager) {
        List<DeviceInfo> devices = byName(manager.list());
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) sb.append(d.name()).append("\t(").append(devno(d)).append(")\n");
        return sb.toString();
    }

    /** {@code dmsetup ls --target TYPE}: {@code NAME<TAB>(MAJOR, ID)} per device whose live table has a target of that type. */
    public static String ls(DeviceManager manager, String targetType) {
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : byName(manager.list())) {
            List<TargetStatus> lines;
            try {
                lines = manager.table(DeviceRef.id(d.id()), false);
            } catch (DmException e) {
                if (gone(e)) continue;
                throw e;
            }
            if (lines.stream().anyMatch(l -> l.type().equals(targetType)))
                sb.append(d.name()).append("\t(").append(MAJOR).append(", ").append(d.id()).append(")\n");
        }
        return sb.toString();
    }

    /** {@code dmsetup info}: one device's block, or every device's (each ends with a blank line). */
    public static String info(DeviceManager manager, DeviceRef device) {
        if (device != null) return info(manager.info(device));
        List<DeviceInfo> devices = byName(manager.list());
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) sb.append(info(d));
        return sb.toString();
    }

    /**
     * One device's long info block, ending with a blank line; ddmapper adds held requests and a
     * missing type when there are. Read Ahead shows once the device has a table, live or loaded,
     * as with Linux 6.1 (whose disk appears at the first load; ddmapper cannot tell a device whose
     * only table was cleared from one that never had one, and leaves the line out for both).
     */
    public static String info(DeviceInfo d) {
        StringBuilder sb = new StringBuilder();
        field(sb, "Name:", d.name());
        field(sb, "State:", d.state() + (d.readOnly() ? " (READ-ONLY)" : ""));
        // 6.1 registers a device's disk at its first table load: before that dmsetup cannot open it for its read-ahead
        if (d.liveTable() || d.inactiveTable()) field(sb, "Read Ahead:", Integer.toString(READ_AHEAD_SECTORS));
        field(sb, "Tables present:", d.tablesPresent());
        field(sb, "Open count:", Integer.toString(d.openCount()));
        field(sb, "Event number:", Long.toString(d.eventNr()));
        field(sb, "Major, minor:", MAJOR + ", " + d.id());
        field(sb, "Number of targets:", Integer.toString(d.liveTable() ? d.targetCount() : 0));
        if (d.heldRequests() > 0) field(sb, "Held requests:", Integer.toString(d.heldRequests()));
        if (d.missingType() != null) field(sb, "Missing type:", d.missingType());
        return sb.append('\n').toString();
    }

    /** {@code dmsetup status}: {@code <start> <length> <type> <INFO>} per target of the live table. */
    public static String status(DeviceManager manager, DeviceRef device) {
        return perDevice(manager, device, (ref, prefix) -> targetLines(manager.status(ref), prefix, null));
    }

    /** {@code dmsetup table [--inactive]}: {@code <start> <length> <type> <TABLE>} per target. */
    public static String table(DeviceManager manager, DeviceRef device, boolean inactive) {
        return perDevice(manager, device, (ref, prefix) -> targetLines(manager.table(ref, inactive), prefix, null));
    }

    /**
     * Target lines as dmsetup prints them: each after {@code prefix} ({@code NAME: } when several
     * devices are shown); only those of {@code targetType} when it is not null. A device with no
     * table prints the prefix alone on a line, as dmsetup does, unless a type was asked for.
     */
    public static String targetLines(List<TargetStatus> lines, String prefix, String targetType) {
        StringBuilder sb = new StringBuilder();
        for (TargetStatus t : lines) if (targetType == null || t.type().equals(targetType)) sb.append(prefix).append(t).append('\n');
        if (lines.isEmpty() && targetType == null) sb.append(prefix).append('\n');
        return sb.toString();
    }

    /** {@code dmsetup deps}: {@code N dependencies<TAB>: (REF) (REF)...}, references as written, in the kernel's order. */
    public static String deps(DeviceManager manager, DeviceRef device) {
        return perDevice(manager, device, (ref, prefix) -> prefix + deps(manager.deps(ref)));
    }

    /** One device's deps line. */
    public static String deps(List<String> refs) {
        StringBuilder sb = new StringBuilder().append(refs.size()).append(" dependencies\t:");
        for (String d : refs) sb.append(" (").append(d).append(')');
        return sb.append('\n').toString();
    }

    /** {@code dmsetup targets}: {@code NAME  vX.Y.Z} per registered target type, the most recently registered first. */
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

    /** A target's answer to a message as printed: nothing when empty, else ending with a newline. */
    public static String messageReply(String reply) {
        if (reply == null || reply.isEmpty()) return "";
        return reply.endsWith("\n") ? reply : reply + "\n";
    }

    /** A device's number as {@code ls} prints it: {@code MAJOR:ID}. */
    public static String devno(DeviceInfo d) { return MAJOR + ":" + d.id(); }

    /** The devices in dmsetup's order: by name, compared as bytes. */
    public static List<DeviceInfo> byName(List<DeviceInfo> devices) {
        List<DeviceInfo> sorted = new ArrayList<>(devices);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.name().getBytes(StandardCharsets.UTF_8), b.name().getBytes(StandardCharsets.UTF_8)));
        return sorted;
    }

    /** A device's references, or none when it went away meanwhile. */
    static List<String> depsOrEmpty(DeviceManager manager, DeviceRef device) {
        try {
            return manager.deps(device);
        } catch (DmException e) {
            if (gone(e)) return List.of();
            throw e;
        }
    }

    /** Whether an error says the device is gone (removed while a listing walked the devices). */
    static boolean gone(DmException e) {
        return e.errno() == Errno.ENODEV || e.errno() == Errno.ENXIO || e.errno() == Errno.ENOENT;
    }

    /** Whether the device instance no longer exists (removed while a view was composed). */
    static boolean gone(DeviceManager manager, DeviceRef ref) {
        try {
            manager.info(ref);
            return false;
        } catch (DmException e) {
            return gone(e);
        }
    }

    /** One device's text, or every device's with {@code NAME: } before each line. */
    private static String perDevice(DeviceManager manager, DeviceRef device, BiFunction<DeviceRef, String, String> render) {
        if (device != null) return render.apply(device, "");
        List<DeviceInfo> devices = byName(manager.list());
        if (devices.isEmpty()) return NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) {
            try {
                sb.append(render.apply(DeviceRef.id(d.id()), d.name() + ": "));
            } catch (DmException e) {
                if (!gone(e)) throw e;
            }
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
