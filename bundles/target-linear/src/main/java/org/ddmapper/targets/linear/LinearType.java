package org.ddmapper.targets.linear;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Extent;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-linear: {@code linear <dev> <offset>} maps the target's sectors onto one device from an
 * offset. INFO is empty, TABLE is {@code <dev> <offset>}; no messages. Allocation is the device's
 * from the offset.
 */
@Component(service = TargetType.class)
public final class LinearType implements TargetType {

    @Override
    public String name() { return "linear"; }

    @Override
    public String version() { return "1.4.0"; }

    @Override
    public String usage() { return "linear <dev> <offset>"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        DeviceArea area = DeviceArea.next(args, "device", context.lengthSectors());
        args.expectEnd();
        return new Linear(area);
    }

    /** The target: one remap per request, no locks, no allocation beyond the child request. */
    record Linear(DeviceArea area) implements Target {
        @Override
        public void map(Bio bio) { area.submit(bio); }

        @Override
        public List<Extent> allocation(long startSector, long lengthSectors) { return area.allocation(startSector, lengthSectors); }

        @Override
        public String status(StatusType type) { return type == StatusType.TABLE ? area.tableText() : ""; }
    }
}
