package org.ddmapper.api.text;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetStatus;

/**
 * The mirror view ({@code ddsetup mirror}, the console's {@code dm:mirror}): every mirror target
 * of every device, or of one, with its legs and their states, how much is in sync, and its log,
 * read from the targets' own status and table lines (the kernel's text, nothing else):
 *
 * <pre>
 * m (dm:m) mirror 0+16384: 2 legs, disk log /var/log.img (ok), regions of 1024 sectors, handle_errors
 *   14/16 regions in sync (87%)
 *   |- leg 0 A /data/a.img 0
 *   `- leg 1 D nbd://10.0.0.5:10809/b 0 (write failed)
 * </pre>
 *
 * A device removed meanwhile is skipped; a target whose lines do not read as a mirror's (its type
 * is being upgraded) gets one line saying so. With no mirror: {@link #NO_MIRRORS}.
 */
public final class MirrorText {
    public static final String TYPE = "mirror";
    public static final String NO_MIRRORS = "No mirrors found\n";
    /** The words a front end accepts after {@code mirror}, for its usage text. */
    public static final String SYNTAX = "mirror [NAME]";

    private MirrorText() {}

    /** The device named after {@code mirror}, or null for every device; anything more is EINVAL. */
    public static DeviceRef parse(List<String> words) {
        if (words.isEmpty()) return null;
        if (words.size() > 1 || words.get(0).startsWith("-"))
            throw new DmException(Errno.EINVAL, "mirror: unexpected '" + words.get(words.size() > 1 ? 1 : 0) + "' (usage: " + SYNTAX + ")");
        return DeviceRef.of(words.get(0));
    }

    /** The view of every mirror, or of the one device when {@code device} is not null. */
    public static String render(DeviceManager manager, DeviceRef device) {
        List<DeviceInfo> devices = device == null ? manager.list() : List.of(manager.info(device));
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : devices) {
            DeviceRef ref = DeviceRef.id(d.id());
            LiveLines lines = LiveLines.of(manager, ref);
            if (lines == null) continue;
            List<TargetStatus> table = lines.table();
            List<TargetStatus> status = lines.status();
            for (int t = 0; t < table.size() && t < status.size(); t++) {
                if (!TYPE.equals(table.get(t).type())) continue;
                sb.append(target(d.name(), table.get(t), status.get(t)));
            }
        }
        if (sb.length() == 0) {
            if (device != null) throw new DmException(Errno.EINVAL, "device '" + devices.get(0).name() + "' has no mirror target");
            return NO_MIRRORS;
        }
        return sb.toString();
    }

    private static String target(String name, TargetStatus table, TargetStatus status) {
        String head = name + " (dm:" + name + ") mirror " + table.startSector() + "+" + table.lengthSectors();
        try {
            return View.of(table.text(), status.text()).render(head);
        } catch (RuntimeException e) {
            return head + ": status not readable as a mirror's: " + status.text() + "\n";
        }
    }

    /** One mirror target's lines, read. */
    private record View(String logType, String logDevice, long regionSectors, List<String> features, List<String> legs,
                        List<String> offsets, String states, long inSync, long regions, char logState) {

        static View of(String tableText, String infoText) {
            List<String> t = TableLine.splitWords(tableText);
            List<String> s = TableLine.splitWords(infoText);
            String logType = t.get(0);
            int logArgs = Integer.parseInt(t.get(1));
            String logDevice = logType.equals("disk") ? t.get(2) : null;
            long region = Long.parseLong(t.get(logType.equals("disk") ? 3 : 2));
            int at = 2 + logArgs;
            int n = Integer.parseInt(t.get(at++));
            List<String> legs = new ArrayList<>();
            List<String> offsets = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                legs.add(t.get(at++));
                offsets.add(t.get(at++));
            }
            // the log's words after its region size (sync, nosync, block_on_error), then the mirror's features
            List<String> features = new ArrayList<>(t.subList(logType.equals("disk") ? 4 : 3, 2 + logArgs));
            features.addAll(t.subList(Math.min(at + 1, t.size()), t.size()));
            String[] sync = s.get(1 + n).split("/");
            String states = s.get(3 + n);
            char logState = logType.equals("disk") ? s.get(s.size() - 1).charAt(0) : 'A';
            return new View(logType, logDevice, region, features, legs, offsets, states, Long.parseLong(sync[0]),
                    Long.parseLong(sync[1]), logState);
        }

        String render(String head) {
            StringBuilder sb = new StringBuilder(head).append(": ").append(legs.size()).append(" legs, ").append(logType).append(" log");
            if (logDevice != null) sb.append(' ').append(logDevice).append(" (").append(logWord(logState)).append(')');
            sb.append(", regions of ").append(regionSectors).append(" sectors");
            for (String f : features) sb.append(", ").append(f);
            sb.append('\n');
            sb.append("  ").append(inSync).append('/').append(regions).append(" regions in sync (")
                    .append(regions == 0 ? 100 : inSync * 100 / regions).append("%)\n");
            for (int i = 0; i < legs.size(); i++) {
                char c = i < states.length() ? states.charAt(i) : 'U';
                sb.append(i == legs.size() - 1 ? "  `- " : "  |- ").append("leg ").append(i).append(' ').append(c).append(' ')
                        .append(legs.get(i)).append(' ').append(offsets.get(i));
                if (c != 'A') sb.append(" (").append(legWord(c)).append(')');
                sb.append('\n');
            }
            return sb.toString();
        }

        private static String legWord(char c) {
            return switch (c) {
                case 'D' -> "write failed";
                case 'F' -> "flush failed";
                case 'S' -> "copy failed";
                case 'R' -> "read failed";
                default -> "state unknown";
            };
        }

        private static String logWord(char c) {
            return switch (c) {
                case 'A' -> "ok";
                case 'D' -> "failed";
                case 'F' -> "flush failed";
                default -> "state unknown";
            };
        }
    }
}
