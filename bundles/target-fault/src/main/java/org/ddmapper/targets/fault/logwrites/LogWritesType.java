package org.ddmapper.targets.fault.logwrites;

import java.util.Set;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-log-writes: {@code log-writes <dev> <log_dev>} passes I/O to {@code dev} and logs every write,
 * discard, flush and FUA, with its data, to {@code log_dev} in the kernel's format, plus marks sent
 * as {@code mark <text>} messages (see {@link LogWrites}, {@link LogFormat}). The device must hold
 * the target's length; the log device's blocks may not be larger than the device's (the log is
 * written in the device's block size). Each new table starts a new log at the log device's start.
 */
@Component(service = TargetType.class)
public final class LogWritesType implements TargetType {

    @Override
    public String name() { return "log-writes"; }

    @Override
    public String version() { return "1.1.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.MESSAGES); }

    @Override
    public String usage() { return "log-writes <dev> <log_dev>"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        BlockDevice device = args.nextDevice("device");
        BlockDevice log = args.nextDevice("log device");
        args.expectEnd();
        if (device.reference().equals(log.reference()))
            throw args.error("the log device cannot be the device itself ('" + device.reference() + "')");
        if (device.sizeSectors() < context.lengthSectors())
            throw args.error("device '" + device.reference() + "' too small: " + device.sizeSectors() + " sectors for a length of "
                    + context.lengthSectors());
        if (log.logicalBlockBytes() > device.logicalBlockBytes())
            throw args.error("log device '" + log.reference() + "' has " + log.logicalBlockBytes() + "-byte blocks, larger than the "
                    + device.logicalBlockBytes() + "-byte blocks of '" + device.reference() + "' the log is written in");
        return new LogWrites(device, log);
    }
}
