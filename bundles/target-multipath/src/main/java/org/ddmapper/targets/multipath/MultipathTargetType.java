package org.ddmapper.targets.multipath;

import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.ddmapper.targets.multipath.internal.MapRegistry;
import org.ddmapper.targets.multipath.internal.MultipathTarget;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** The {@code multipath} target type (the kernel's dm-mpath grammar; see README.md). */
@Component(service = TargetType.class)
public class MultipathTargetType implements TargetType {

    @Reference
    MapRegistry registry;

    @Override public String name() { return "multipath"; }

    @Override public String version() { return "1.14.0"; }

    @Override
    public Set<TargetFeature> features() {
        return Set.of(TargetFeature.MESSAGES, TargetFeature.STATE_HANDOVER);
    }

    @Override
    public String usage() {
        return "multipath <#features> [feature]* <#hw_handler args> [hw_handler [arg]*] <#groups> <initial group> "
                + "[<selector> <#selector args> <#paths> <#per-path args> [<path> [arg]*]+]+";
    }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        return MultipathTarget.create(context, args, registry);
    }
}
