package org.ddmapper.targets.snapshot;

import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.ddmapper.targets.snapshot.internal.SnapshotRegistry;
import org.ddmapper.targets.snapshot.internal.SnapshotTarget;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** The {@code snapshot} target type (dm-snap, with the kernel's persistent and transient stores; see README.md). */
@Component(service = TargetType.class)
public class SnapshotType implements TargetType {

    @Reference
    SnapshotRegistry registry;

    @Override public String name() { return "snapshot"; }

    @Override public String version() { return "1.16.0"; }

    @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.STATE_HANDOVER); }

    @Override
    public String usage() {
        return "snapshot <origin> <cow> <P|PO|N> <chunk_sectors> [<#feature args> [discard_zeroes_cow] [discard_passdown_origin]]";
    }

    @Override
    public Target create(TargetContext context, TableArgs args) { return new SnapshotTarget(context, args, registry); }
}
