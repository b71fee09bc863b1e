package org.ddmapper.spi;

import java.util.Set;

/** A kind of target, registered as an OSGi service. Names and grammar follow the kernel's. */
public interface TargetType {

    /** The name tables use, e.g. "linear". */
    String name();

    /** Version as major.minor.patch, e.g. "1.4.0". */
    String version();

    /** Declared constraints and capabilities. Default: none. */
    default Set<TargetFeature> features() { return Set.of(); }

    /** One line of argument grammar, e.g. "linear <dev> <offset>". */
    String usage();

    /**
     * Builds a target from its arguments. Reads arguments only through {@code args} (which opens
     * device references and closes them again if this throws). Throws TableException with a
     * specific message for anything it refuses.
     */
    Target create(TargetContext context, TableArgs args);
}
