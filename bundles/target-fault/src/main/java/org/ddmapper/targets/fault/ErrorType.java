package org.ddmapper.targets.fault;

import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.service.component.annotations.Component;

/**
 * The kernel's error target: {@code error} or {@code error <dev> <offset>} (the device only
 * names what the target stands in for). Every request it is given fails with EIO; loading it over
 * any table and resuming is how a device is "yanked". Like the kernel's
 * ({@code num_flush_bios = 0}) it takes no flushes: a FLUSH of a table with an error segment
 * succeeds for the other targets' data. INFO is empty; TABLE repeats {@code <dev> <offset>} when given.
 */
@Component(service = TargetType.class)
public final class ErrorType implements TargetType {

    @Override
    public String name() { return "error"; }

    @Override
    public String version() { return "1.7.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.NO_FLUSH); }

    @Override
    public String usage() { return "error [<dev> <offset>]"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        String table = args.hasNext() ? DeviceArea.next(args, "device", context.lengthSectors()).tableText() : "";
        args.expectEnd();
        return new Failing(table);
    }

    /** The target: fails everything; remembers its table text only. */
    record Failing(String table) implements Target {
        static final String REASON = "error target: every I/O fails";

        @Override
        public void map(Bio bio) { bio.fail(Errno.EIO, REASON); }

        @Override
        public String status(StatusType type) { return type == StatusType.TABLE ? table : ""; }
    }
}
