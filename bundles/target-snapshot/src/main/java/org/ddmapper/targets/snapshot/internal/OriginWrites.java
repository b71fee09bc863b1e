package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;

/**
 * A write to an origin (the kernel's do_origin): through the group's gate, then a copy-out in every
 * active snapshot for each chunk it touches that has no exception there yet, and only once all of
 * them are committed, the write itself. A write over many chunks waits for all its copy-outs and
 * goes to the origin whole (the kernel splits origin writes at the smallest chunk size instead).
 */
final class OriginWrites {
    private OriginWrites() {}

    /**
     * Writes {@code bio} (target-relative) to the origin device at absolute sector
     * {@code originSector}, after its copy-outs. {@code owner} is the target, whose held writes go
     * back to the core when it is suspended.
     */
    static void write(OriginGroup group, Object owner, BlockDevice origin, Bio bio, long originSector) {
        OriginGroup.HeldWrite again = new OriginGroup.HeldWrite(owner, () -> write(group, owner, origin, bio, originSector),
                () -> bio.complete(IoStatus.REQUEUE));
        if (!group.begin(again)) return;
        Bio toOrigin = bio.slice(0, bio.lengthSectors(), originSector, status -> {
            group.end();
            bio.complete(status);
        });
        copyOutThen(group, originSector, originSector + bio.lengthSectors(), () -> origin.submit(toOrigin));
    }

    /**
     * Makes sure every active snapshot has an exception for each chunk of absolute sectors [start,
     * end), then runs {@code then} (once; on any thread). Returns how many copy-outs it waits for.
     */
    static int copyOutThen(OriginGroup group, long start, long end, Runnable then) {
        OriginWait wait = new OriginWait(then);
        List<Pending> toStart = new ArrayList<>();
        int waits = 0;
        for (Snapshot s : group.active()) waits += s.originWrite(start, end, wait, toStart);
        CopyOuts.start(toStart);
        wait.done();
        return waits;
    }
}
