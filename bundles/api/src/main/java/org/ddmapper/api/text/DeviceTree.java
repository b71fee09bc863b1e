package org.ddmapper.api.text;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;

/**
 * {@code dmsetup ls --tree}: every device that no other device's table uses, by name, each with
 * the devices its live table uses below it (in {@code deps} order), drawn as dmsetup draws them:
 *
 * <pre>
 * top (0:4)
 *  |-mid (0:3)
 *  |  `- (/data/b.img)
 *  `- (/data/a.img)
 * </pre>
 *
 * A stacked device ({@code dm:NAME}) is a node with its own children; any other reference is a
 * leaf printed as written.
 */
public final class DeviceTree {
    /** How a table references another mapped device. */
    public static final String DM_PREFIX = "dm:";

    private final Map<String, DeviceInfo> byName = new HashMap<>();
    private final Map<String, List<String>> deps = new HashMap<>();

    private DeviceTree(DeviceManager manager, List<DeviceInfo> devices) {
        for (DeviceInfo d : devices) {
            byName.put(d.name(), d);
            deps.put(d.name(), DmText.depsOrEmpty(manager, DeviceRef.id(d.id())));
        }
    }

    /** The tree of every device, or {@link DmText#NO_DEVICES}. */
    public static String render(DeviceManager manager) {
        List<DeviceInfo> devices = DmText.byName(manager.list());
        if (devices.isEmpty()) return DmText.NO_DEVICES;
        DeviceTree tree = new DeviceTree(manager, devices);
        Set<String> used = new HashSet<>();
        for (List<String> refs : tree.deps.values()) {
            for (String ref : refs) if (tree.stacked(ref) != null) used.add(tree.stacked(ref).name());
        }
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) {
            if (used.contains(d.name())) continue;
            sb.append(d.name()).append(" (").append(DmText.devno(d)).append(")\n");
            tree.children(sb, d, "", new HashSet<>(Set.of(d.name())));
        }
        return sb.toString();
    }

    /** The mapped device a reference names, or null for any other reference. */
    private DeviceInfo stacked(String ref) {
        return ref.startsWith(DM_PREFIX) ? byName.get(ref.substring(DM_PREFIX.length())) : null;
    }

    private void children(StringBuilder sb, DeviceInfo parent, String indent, Set<String> path) {
        List<String> refs = deps.getOrDefault(parent.name(), List.of());
        for (int i = 0; i < refs.size(); i++) {
            boolean last = i == refs.size() - 1;
            String ref = refs.get(i);
            DeviceInfo child = stacked(ref);
            sb.append(' ').append(indent).append(last ? "`-" : "|-");
            if (child == null || path.contains(child.name())) {
                sb.append(" (").append(ref).append(")\n");
                continue;
            }
            sb.append(child.name()).append(" (").append(DmText.devno(child)).append(")\n");
            Set<String> deeper = new HashSet<>(path);
            deeper.add(child.name());
            children(sb, child, indent + (last ? "   " : "|  "), deeper);
        }
    }
}
