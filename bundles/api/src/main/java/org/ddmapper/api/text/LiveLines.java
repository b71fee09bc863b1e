package org.ddmapper.api.text;

import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.TargetStatus;

/**
 * One device's live table and status lines, read together for a view across devices (the mirror
 * and snapshot views); a device removed while the view was composed has none.
 */
record LiveLines(List<TargetStatus> table, List<TargetStatus> status) {

    /** The device's lines, or null when it no longer exists; any other refusal is thrown. */
    static LiveLines of(DeviceManager manager, DeviceRef ref) {
        try {
            return new LiveLines(manager.table(ref, false), manager.status(ref));
        } catch (DmException e) {
            if (DmText.gone(manager, ref)) return null;
            throw e;
        }
    }
}
