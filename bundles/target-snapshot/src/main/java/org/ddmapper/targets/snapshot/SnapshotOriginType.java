package org.ddmapper.targets.snapshot;

import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.ddmapper.targets.snapshot.internal.OriginTarget;
import org.ddmapper.targets.snapshot.internal.SnapshotRegistry;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** The {@code snapshot-origin} target type (dm-snap's origin; see README.md). */
@Component(service = TargetType.class)
public class SnapshotOriginType implements TargetType {

    @Reference
    SnapshotRegistry registry;

    @Override public String name() { return "snapshot-origin"; }

    @Override public String version() { return "1.9.0"; }

    /** Holds writes while a snapshot of it is being handed over (live upgrade), handing them back on suspend. */
    @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.QUEUES_IO, TargetFeature.STATE_HANDOVER); }

    @Override public String usage() { return "snapshot-origin <origin>"; }

    @Override
    public Target create(TargetContext context, TableArgs args) { return new OriginTarget(context, args, registry); }
}
