package org.ddmapper.targets.snapshot.internal;

import org.ddmapper.api.Bio;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;

/** A {@code snapshot} table: the frozen image of its origin plus its own writes (see {@link SnapshotIo}). */
public final class SnapshotTarget extends SnapshotLifecycle {
    private final SnapshotIo io;

    public SnapshotTarget(TargetContext context, TableArgs args, SnapshotRegistry registry) {
        super(context, args, registry, false);
        this.io = new SnapshotIo(snapshot);
    }

    @Override
    public void map(Bio bio) { io.map(bio); }
}
