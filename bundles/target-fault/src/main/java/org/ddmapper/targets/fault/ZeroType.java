package org.ddmapper.targets.fault;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * dm-zero: {@code zero} (no arguments). Reads return zeros, writes, discards and flushes
 * succeed and are dropped. Holds no data, so it takes no flushes (NO_FLUSH, like the kernel's
 * {@code num_flush_bios = 0}). Its allocation is one hole (reads as zeros). No status, no messages.
 */
@Component(service = TargetType.class)
public final class ZeroType implements TargetType {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024).asReadOnlyBuffer();

    /** Stateless, so every table shares one. */
    private static final Target ZERO = new Target() {
        @Override
        public void map(Bio bio) {
            if (bio.op() == BioOp.READ) fillZeros(bio.data());
            bio.complete(IoStatus.OK);
        }

        @Override
        public List<Extent> allocation(long startSector, long lengthSectors) {
            return List.of(new Extent(startSector, lengthSectors, Extent.Kind.HOLE));
        }

        @Override
        public String status(StatusType type) { return ""; }
    };

    @Override
    public String name() { return "zero"; }

    @Override
    public String version() { return "1.1.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.NO_FLUSH); }

    @Override
    public String usage() { return "zero"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        args.expectEnd();
        return ZERO;
    }

    /** Zeroes the buffer's remaining bytes without allocating. */
    static void fillZeros(ByteBuffer buffer) {
        int at = buffer.position();
        int end = buffer.limit();
        while (at < end) {
            int n = Math.min(end - at, ZEROS.capacity());
            buffer.put(at, ZEROS, 0, n);
            at += n;
        }
    }
}
