package org.ddmapper.targets.mirror.internal;

import org.ddmapper.api.TableLine;

/**
 * A mirror's status lines, as dm-raid1's mirror_status and dm-log's core_status/disk_status print
 * them (devices as the table wrote them, where the kernel prints major:minor):
 * <pre>
 * INFO   2 /a /b 12/16 1 AD 3 disk /log A      (legs, in sync / regions, 1, one character per leg, log)
 *        2 /a /b 16/16 1 AA 1 core
 * TABLE  disk 2 /log 1024 2 /a 0 /b 0 1 handle_errors
 * </pre>
 */
final class MirrorStatus {
    private MirrorStatus() {}

    static String info(MirrorTable table, Legs legs, Regions regions, LogWriter log) {
        StringBuilder sb = new StringBuilder().append(table.legCount()).append(' ');
        for (String ref : table.legRefs()) sb.append(TableLine.escape(ref)).append(' ');
        sb.append(regions.inSyncCount()).append('/').append(regions.regionCount()).append(" 1 ").append(legs.statusChars()).append(' ');
        if (table.log() instanceof LogSpec.Disk disk) {
            sb.append("3 disk ").append(TableLine.escape(disk.device().reference())).append(' ').append(log.state().code);
        } else {
            sb.append("1 core");
        }
        return sb.toString();
    }

    static String table(MirrorTable table) {
        StringBuilder sb = new StringBuilder(table.log().tableText()).append(table.legCount());
        for (int i = 0; i < table.legCount(); i++)
            sb.append(' ').append(TableLine.escape(table.legRefs().get(i))).append(' ').append(table.legOffsets().get(i));
        int features = (table.handleErrors() ? 1 : 0) + (table.keepLog() ? 1 : 0);
        if (features > 0) {
            sb.append(' ').append(features);
            if (table.handleErrors()) sb.append(" handle_errors");
            if (table.keepLog()) sb.append(" keep_log");
        }
        return sb.toString();
    }
}
