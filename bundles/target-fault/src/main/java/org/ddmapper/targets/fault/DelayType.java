package org.ddmapper.targets.fault;

import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-delay: {@code delay <dev> <offset> <ms>} delays every request; with six arguments the
 * second triplet takes writes and flushes; with nine the third takes flushes. Each triplet is
 * a device, an offset and a delay in milliseconds (0 passes straight through).
 */
@Component(service = TargetType.class)
public final class DelayType implements TargetType {
    /** The kernel reads delays as unsigned 32-bit milliseconds. */
    static final long MAX_DELAY_MILLIS = 0xFFFF_FFFFL;

    @Override
    public String name() { return "delay"; }

    @Override
    public String version() { return "1.3.0"; }

    @Override
    public String usage() {
        return "delay <dev> <offset> <ms> [<write_dev> <write_offset> <write_ms> [<flush_dev> <flush_offset> <flush_ms>]]";
    }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        int words = args.remaining();
        if (words != 3 && words != 6 && words != 9)
            throw args.error("requires exactly 3, 6 or 9 arguments, got " + words);
        Delay.Lane read = lane(args, "", context.lengthSectors());
        Delay.Lane write = words >= 6 ? lane(args, "write ", context.lengthSectors()) : read;
        Delay.Lane flush = words == 9 ? lane(args, "flush ", context.lengthSectors()) : write;
        args.expectEnd();
        return new Delay(context.scheduler(), words / 3, read, write, flush);
    }

    private static Delay.Lane lane(TableArgs args, String prefix, long lengthSectors) {
        DeviceArea area = DeviceArea.next(args, prefix + "device", lengthSectors);
        long delayMillis = args.nextUnsigned(prefix + "delay", MAX_DELAY_MILLIS);
        return new Delay.Lane(area, delayMillis);
    }
}
