package org.ddmapper.it.core.refusing;

import java.util.Hashtable;
import java.util.Set;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * The activator of a deliberately broken "new version" of target-linear, packed into a bundle
 * jar by the test (this class is its only content): it registers target types linear and
 * striped whose constructors refuse every table.
 */
public final class RefusingTypes implements BundleActivator, TargetType {
    private final String name;

    public RefusingTypes() { this("linear"); }

    private RefusingTypes(String name) { this.name = name; }

    @Override
    public void start(BundleContext context) {
        for (String n : new String[] {"linear", "striped"}) context.registerService(TargetType.class, new RefusingTypes(n), new Hashtable<>());
    }

    @Override
    public void stop(BundleContext context) { }

    @Override public String name() { return name; }

    @Override public String version() { return "9.9.9"; }

    @Override public Set<TargetFeature> features() { return Set.of(); }

    @Override public String usage() { return name + " (refuses every table)"; }

    @Override
    public Target create(TargetContext context, TableArgs args) {
        throw args.error("this build refuses every table");
    }
}
