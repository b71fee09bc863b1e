package org.ddmapper.target.linear;

import java.util.Set;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-stripe: {@code striped <#stripes> <chunk_sectors> [<dev> <offset>]{#stripes}}. The
 * length must divide into the stripes and each stripe's share into whole chunks; the chunk is a
 * power of two of at least 8 sectors (4 KiB); no device appears twice.
 */
@Component(service = TargetType.class)
public final class StripedType implements TargetType {
    /** Most stripes in one target. */
    static final int MAX_STRIPES = 1024;
    /** Smallest chunk: one 4 KiB page, as the kernel's documentation asks. */
    static final long MIN_CHUNK_SECTORS = 8;
    /** Largest chunk (2^31 sectors, 1 TiB). */
    static final long MAX_CHUNK_SECTORS = 1L << 31;

    @Override
    public String name() { return "striped"; }

    @Override
    public String version() { return "1.7.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.STATE_HANDOVER); }

    @Override
    public String usage() { return "striped <#stripes> <chunk_sectors> [<dev> <offset>]{#stripes}"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        int stripes = args.nextInt("stripe count", 1, MAX_STRIPES);
        long chunk = args.nextUnsigned("chunk size", MAX_CHUNK_SECTORS);
        if (chunk < MIN_CHUNK_SECTORS || Long.bitCount(chunk) != 1)
            throw args.error("invalid chunk size '" + chunk + "' (a power of two, at least " + MIN_CHUNK_SECTORS + " sectors)");
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
            for (int j = 0; j < i; j++)
                if (areas[j].device().reference().equals(areas[i].device().reference()))
                    throw args.error("device '" + areas[i].device().reference() + "' appears twice (stripes " + j + " and " + i + ")");
        }
        args.expectEnd();
        return new Striped(context, new StripeGeometry(stripes, Long.numberOfTrailingZeros(chunk)), areas);
    }
}
