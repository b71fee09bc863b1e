package org.ddmapper.targets.mirror;

import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.ddmapper.targets.mirror.internal.Mirror;
import org.osgi.service.component.annotations.Component;

/** The {@code mirror} target type: dm-raid1's grammar, status and dirty logs (see README.md). */
@Component(service = TargetType.class)
public final class MirrorType implements TargetType {

    @Override
    public String name() { return "mirror"; }

    /** dm-raid1's version in Debian's 6.1 kernel. */
    @Override
    public String version() { return "1.14.0"; }

    @Override
    public Set<TargetFeature> features() { return Set.of(TargetFeature.MESSAGES, TargetFeature.STATE_HANDOVER); }

    @Override
    public String usage() {
        return "mirror <log_type> <#log_args> <log_args...> <#legs> [<dev> <offset>]{#legs} [<#features> [handle_errors] [keep_log]]";
    }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        return Mirror.create(context, args);
    }
}
