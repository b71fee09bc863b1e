package org.ddmapper.targets.snapshot;

import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.ddmapper.targets.snapshot.internal.MergeTarget;
import org.ddmapper.targets.snapshot.internal.SnapshotRegistry;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** The {@code snapshot-merge} target type: merges a snapshot back into its origin while both serve (see README.md). */
@Component(service = TargetType.class)
public class SnapshotMergeType implements TargetType {

    @Reference
    SnapshotRegistry registry;

    @Override public String name() { return "snapshot-merge"; }

    @Override public String version() { return "1.5.0"; }

    @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.QUEUES_IO, TargetFeature.STATE_HANDOVER); }

    @Override public String usage() { return "snapshot-merge <origin> <cow> <P|PO> <chunk_sectors>"; }

    @Override
    public Target create(TargetContext context, TableArgs args) { return new MergeTarget(context, args, registry); }
}
