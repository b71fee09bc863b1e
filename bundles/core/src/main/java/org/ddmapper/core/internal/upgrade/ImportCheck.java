package org.ddmapper.core.internal.upgrade;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRevision;

/**
 * Whether a candidate's mandatory Import-Package entries can be wired: each must be exported,
 * in a version its range includes, by a resolved bundle of the framework (the system bundle
 * included, the bundle being replaced excluded) or by the candidate itself.
 */
final class ImportCheck {
    private ImportCheck() {}

    /** The first import nothing exports, as a phrase ("package 'x' (version [1.0,2))"), or null when all resolve. */
    static String firstMissing(UpgradeCandidate candidate, BundleContext context, Bundle replaced) {
        List<Map.Entry<String, Version>> exported = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            if (b.getBundleId() == replaced.getBundleId() || (b.getState() & (Bundle.INSTALLED | Bundle.UNINSTALLED)) != 0) continue;
            BundleRevision rev = b.adapt(BundleRevision.class);
            if (rev == null) continue;
            for (BundleCapability cap : rev.getDeclaredCapabilities(PackageNamespace.PACKAGE_NAMESPACE)) {
                Object name = cap.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE);
                Object version = cap.getAttributes().get(PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE);
                if (name instanceof String n) exported.add(Map.entry(n, version instanceof Version v ? v : Version.emptyVersion));
            }
        }
        for (ManifestClauses.Clause c : candidate.exports().clauses()) {
            Version v = Version.parseVersion(c.attributes().getOrDefault(Constants.VERSION_ATTRIBUTE, "0.0.0"));
            for (String p : c.paths()) exported.add(Map.entry(p, v));
        }
        for (ManifestClauses.Clause c : candidate.imports().clauses()) {
            if (Constants.RESOLUTION_OPTIONAL.equals(c.directives().get(Constants.RESOLUTION_DIRECTIVE))) continue;
            String range = c.attributes().get(Constants.VERSION_ATTRIBUTE);
            VersionRange wanted = range == null ? new VersionRange("0.0.0") : VersionRange.valueOf(range);
            for (String p : c.paths()) {
                boolean found = exported.stream().anyMatch(e -> e.getKey().equals(p) && wanted.includes(e.getValue()));
                if (!found) return "package '" + p + "'" + (range == null ? "" : " (version " + range + ")");
            }
        }
        return null;
    }
}
