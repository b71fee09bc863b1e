package org.ddmapper.targets.linear;

import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-stripe: {@code striped <#stripes> <chunk_sectors> [<dev> <offset>]{#stripes}}. The
 * length must divide into the stripes and each stripe's share into whole chunks; any non-zero chunk
 * (the kernel's rule since 3.6) that is a whole number of every stripe device's logical blocks. A
 * device may appear more than once, at areas that do not overlap.
 */
@Component(service = TargetType.class)
public final class StripedType implements TargetType {
    /** Most stripes in one target. */
    static final int MAX_STRIPES = 1024;
    /** Largest chunk (2^31 sectors, 1 TiB). */
    static final long MAX_CHUNK_SECTORS = 1L << 31;

    @Override
    public String name() { return "striped"; }

    @Override
    public String version() { return "1.6.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.STATE_HANDOVER); }

    @Override
    public String usage() { return "striped <#stripes> <chunk_sectors> [<dev> <offset>]{#stripes}"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        int stripes = args.nextInt("stripe count", 1, MAX_STRIPES);
        long chunk = args.nextUnsigned("chunk size", MAX_CHUNK_SECTORS);
        if (chunk == 0) throw args.error("invalid chunk size '0' (at least 1 sector)");
        if (args.remaining() < 2 * stripes)
            throw args.error("not enough arguments for " + stripes + " stripes (" + args.remaining() + " of " + 2 * stripes + " words)");
        long length = context.lengthSectors();
        if (length % stripes != 0)
            throw args.error("length " + length + " not divisible by " + stripes + " stripes");
        long width = length / stripes;
        if (width % chunk != 0)
            throw args.error("stripe length " + width + " not divisible by chunk size " + chunk);

        DeviceArea[] areas = new DeviceArea[stripes];
        for (int i = 0; i < stripes; i++) {
            areas[i] = DeviceArea.next(args, "stripe " + i + " device", width);
            int blockSectors = areas[i].device().logicalBlockBytes() / Bio.SECTOR_BYTES;
            if (blockSectors > 1 && chunk % blockSectors != 0)
                throw args.error("chunk size " + chunk + " is not a whole number of the " + blockSectors + "-sector logical blocks of '"
                        + areas[i].device().reference() + "'");
            for (int j = 0; j < i; j++) {
                DeviceArea a = areas[j], b = areas[i];
                if (a.device().reference().equals(b.device().reference()) && a.offsetSectors() < b.offsetSectors() + width
                        && b.offsetSectors() < a.offsetSectors() + width)
                    throw args.error("stripes " + j + " and " + i + " overlap on device '" + b.device().reference() + "' (offsets "
                            + a.offsetSectors() + " and " + b.offsetSectors() + ", " + width + " sectors each)");
            }
        }
        args.expectEnd();
        return new Striped(context, new StripeGeometry(stripes, chunk), areas);
    }
}
