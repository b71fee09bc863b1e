package org.ddmapper.targets.fault;

import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * The error target as Linux 6.1 has it (1.5.0): {@code error}, any arguments ignored (newer
 * kernels read {@code <dev> <offset>}; 6.1 neither checks nor opens them, and prints none back).
 * Every request it is given fails with EIO. Loading it over any table and resuming is how a device is
 * "yanked". Like the kernel's ({@code num_flush_bios = 0}) it takes no
 * flushes: a FLUSH of a table with an error segment succeeds for the other targets' data. INFO
 * and TABLE are empty.
 */
@Component(service = TargetType.class)
public final class ErrorType implements TargetType {

    @Override
    public String name() { return "error"; }

    @Override
    public String version() { return "1.5.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.NO_FLUSH); }

    @Override
    public String usage() { return "error [<ignored>...]"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        while (args.hasNext()) args.next("ignored argument");
        return new Failing();
    }

    /** The target: fails everything. */
    record Failing() implements Target {
        static final String REASON = "error target: every I/O fails";

        @Override
        public void map(Bio bio) { bio.fail(Errno.EIO, REASON); }

        @Override
        public String status(StatusType type) { return ""; }
    }
}
