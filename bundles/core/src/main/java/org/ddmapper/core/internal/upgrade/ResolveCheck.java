package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.hooks.bundle.CollisionHook;
import org.osgi.framework.namespace.ExecutionEnvironmentNamespace;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.resource.Namespace;
import org.tinylog.Logger;

/**
 * Whether a staged candidate resolves, asked of the framework itself: the jar is installed under
 * a temporary location (a collision hook lets it sit beside the running bundle of the same name
 * and version), {@link FrameworkWiring#resolveBundles} is tried on it, and it is uninstalled
 * again. It is never started, so it registers nothing. Every kind of requirement counts
 * (Import-Package, Require-Bundle, Require-Capability, the execution environment).
 */
final class ResolveCheck {
    private static final String LOCATION = "ddmapper-upgrade-check:";
    private static final ThreadLocal<Boolean> PROBING = new ThreadLocal<>();

    private ResolveCheck() {}

    /** Why the candidate would not resolve, as a phrase ("it imports package 'x' (version [1.0,2)), which no bundle exports"), or null. */
    static String whyNot(UpgradeCandidate candidate, BundleContext context) throws IOException {
        Bundle probe = install(candidate, context);
        FrameworkWiring wiring = context.getBundle(Constants.SYSTEM_BUNDLE_ID).adapt(FrameworkWiring.class);
        try {
            if (wiring.resolveBundles(List.of(probe))) return null;
            return reason(candidate, probe, wiring);
        } finally {
            try {
                probe.uninstall();
                wiring.refreshBundles(List.of(probe));
            } catch (BundleException | IllegalStateException e) {
                Logger.warn("the upgrade's resolve probe {} could not be uninstalled: {}", probe.getLocation(), e.getMessage());
            }
        }
    }

    private static Bundle install(UpgradeCandidate candidate, BundleContext context) throws IOException {
        CollisionHook hook = (operation, target, candidates) -> {
            if (Boolean.TRUE.equals(PROBING.get())) candidates.clear();
        };
        ServiceRegistration<CollisionHook> registration = context.registerService(CollisionHook.class, hook, null);
        PROBING.set(true);
        try (InputStream in = Files.newInputStream(candidate.jar())) {
            return context.installBundle(LOCATION + candidate.jar().toUri(), in);
        } catch (BundleException e) {
            throw new IOException("the framework does not take it as a bundle: " + e.getMessage(), e);
        } finally {
            PROBING.remove();
            registration.unregister();
        }
    }

    /** Whether the jar's Bundle-SymbolicName says singleton:=true (it cannot resolve beside the running version). */
    static boolean singleton(Path jar) throws IOException {
        try (JarFile jf = new JarFile(jar.toFile())) {
            String bsn = jf.getManifest().getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            return bsn != null && bsn.replace(" ", "").contains(Constants.SINGLETON_DIRECTIVE + ":=true");
        }
    }

    /** The first mandatory requirement nothing in the framework provides, else what the resolver itself says. */
    private static String reason(UpgradeCandidate candidate, Bundle probe, FrameworkWiring wiring) {
        BundleRevision revision = probe.adapt(BundleRevision.class);
        if (revision != null) {
            for (BundleRequirement r : revision.getDeclaredRequirements(null)) {
                if (Namespace.RESOLUTION_OPTIONAL.equals(r.getDirectives().get(Namespace.REQUIREMENT_RESOLUTION_DIRECTIVE))) continue;
                if (!wiring.findProviders(r).isEmpty()) continue;
                return describe(candidate, r);
            }
        }
        // every requirement has a provider, yet it does not resolve (a uses conflict, a singleton): the resolver's own words
        try {
            probe.loadClass(ResolveCheck.class.getName());
        } catch (ClassNotFoundException | IllegalStateException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof BundleException be && be.getMessage() != null)
                    return "the framework's resolver says: " + be.getMessage().replaceAll("\\s+", " ").strip();
            }
        }
        return "the framework's resolver refused it";
    }

    private static String describe(UpgradeCandidate candidate, BundleRequirement r) {
        String filter = r.getDirectives().getOrDefault(Namespace.REQUIREMENT_FILTER_DIRECTIVE, "");
        switch (r.getNamespace()) {
            case PackageNamespace.PACKAGE_NAMESPACE -> {
                String pkg = attribute(filter, PackageNamespace.PACKAGE_NAMESPACE);
                String range = null;
                for (ManifestClauses.Clause c : candidate.imports().clauses())
                    if (c.paths().contains(pkg)) range = c.attributes().get(Constants.VERSION_ATTRIBUTE);
                return "it imports package '" + pkg + "'" + (range == null ? "" : " (version " + range + ")") + ", which no bundle exports";
            }
            case ExecutionEnvironmentNamespace.EXECUTION_ENVIRONMENT_NAMESPACE -> {
                return "it requires the execution environment " + filter + ", which this Java does not provide";
            }
            default -> {
                return "it requires capability '" + r.getNamespace() + "'" + (filter.isEmpty() ? "" : " " + filter) + ", which no bundle provides";
            }
        }
    }

    /** The value of {@code (name=value)} in an LDAP filter, or the whole filter when it has none. */
    private static String attribute(String filter, String name) {
        int i = filter.indexOf("(" + name + "=");
        if (i < 0) return filter;
        int start = i + name.length() + 2;
        int end = filter.indexOf(')', start);
        return end < 0 ? filter : filter.substring(start, end);
    }
}
