package org.ddmapper.targets.fault;

import java.util.Set;
import java.util.function.LongSupplier;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-flakey as Linux 6.1 has it (1.5.0): {@code flakey <dev> <offset> <up_secs> <down_secs>
 * [<#features> <features...>]}. Passes I/O through for up_secs, then misbehaves for down_secs as
 * its features say, in a cycle counted from when the target was built (see {@link FlakeyFeatures}).
 */
@Component(service = TargetType.class)
public final class FlakeyType implements TargetType {
    private static final long U32_MAX = 0xFFFF_FFFFL;
    private final LongSupplier nanoClock;

    public FlakeyType() { this(System::nanoTime); }

    /** With a clock of nanoseconds (tests drive the up/down cycle with it). */
    FlakeyType(LongSupplier nanoClock) { this.nanoClock = nanoClock; }

    @Override
    public String name() { return "flakey"; }

    @Override
    public String version() { return "1.5.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.STATE_HANDOVER); }

    @Override
    public String usage() {
        return "flakey <dev> <offset> <up_secs> <down_secs> [<#features> [drop_writes|error_writes]"
                + " [corrupt_bio_byte <Nth_byte> <r|w> <value> <flags>]]";
    }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        DeviceArea area = DeviceArea.next(args, "device", context.lengthSectors());
        long upSecs = args.nextUnsigned("up interval", U32_MAX);
        long downSecs = args.nextUnsigned("down interval", U32_MAX);
        if (upSecs + downSecs == 0) throw args.error("up and down intervals are both 0");
        if (upSecs + downSecs > U32_MAX) throw args.error("up + down interval overflows (more than " + U32_MAX + " seconds)");
        FlakeyFeatures features = FlakeyFeatures.next(args);
        args.expectEnd();
        return new Flakey(area, upSecs, downSecs, features, nanoClock);
    }
}
