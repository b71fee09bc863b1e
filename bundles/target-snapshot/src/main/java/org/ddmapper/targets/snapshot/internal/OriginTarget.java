package org.ddmapper.targets.snapshot.internal;

import java.util.List;
import java.util.Optional;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Extent;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;

/**
 * A {@code snapshot-origin} table: the origin device itself (reads, flushes straight through, at
 * the same sector — absolute, as the kernel's), with every write first copied out into each active
 * snapshot of it ({@link OriginWrites}). INFO is empty, TABLE the origin as written.
 */
public final class OriginTarget implements Target {
    private final DeviceArea origin;
    private final OriginGroup group;
    private final SnapshotRegistry registry;
    private final OriginWriters writers;

    public OriginTarget(TargetContext context, TableArgs args, SnapshotRegistry registry) {
        if (args.remaining() != 1)
            throw args.error("origin: incorrect number of arguments (expected 1, the origin device; got " + args.remaining() + ")");
        BlockDevice device = args.nextDevice("origin device");
        long end = context.startSector() + context.lengthSectors();
        if (device.sizeSectors() < end)
            throw args.error("origin device '" + device.reference() + "' too small: the target ends at sector " + end + ", the device has "
                    + device.sizeSectors() + " sectors");
        this.origin = new DeviceArea(device, context.startSector());
        this.registry = registry;
        this.group = registry.group(context.identityOf(device));
        this.group.originAttached();
        this.writers = new OriginWriters(context, group, registry.awaitMillis());
    }

    @Override
    public void map(Bio bio) {
        if (bio.op().isWrite()) OriginWrites.write(group, this, origin.device(), bio, origin.offsetSectors() + bio.sector());
        else origin.submit(bio);
    }

    @Override
    public List<Extent> allocation(long startSector, long lengthSectors) { return origin.allocation(startSector, lengthSectors); }

    @Override
    public void presuspend(boolean noflush) { group.requeue(this); }

    @Override
    public void preresume() { writers.preresume(); }

    @Override
    public String status(StatusType type) {
        return type == StatusType.TABLE ? TableLine.escape(origin.device().reference()) : "";
    }

    @Override
    public Optional<TargetState> exportState() { return Optional.of(writers.exportState()); }

    @Override
    public void importState(TargetState state) { writers.importState(state); }

    @Override
    public void destroy() {
        writers.destroy();
        group.requeue(this);
        group.originDetached();
        registry.releaseIfIdle(group);
    }
}
