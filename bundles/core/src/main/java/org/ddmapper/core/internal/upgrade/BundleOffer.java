package org.ddmapper.core.internal.upgrade;

import java.util.Set;
import java.util.TreeSet;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.TargetType;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/**
 * What a bundle offers right now: the names of the target types and path checkers it registers,
 * and the service ids of its target types (to tell its registrations from the old version's).
 */
record BundleOffer(Set<String> targetTypes, Set<String> checkers, Set<Long> targetServiceIds) {

    static BundleOffer of(Bundle bundle, BundleContext context) {
        Set<String> types = new TreeSet<>();
        Set<String> checkers = new TreeSet<>();
        Set<Long> ids = new TreeSet<>();
        ServiceReference<?>[] refs = bundle.getState() == Bundle.ACTIVE ? bundle.getRegisteredServices() : null;
        if (refs != null) {
            for (ServiceReference<?> ref : refs) {
                String[] classes = (String[]) ref.getProperty(Constants.OBJECTCLASS);
                if (!Set.of(classes).contains(TargetType.class.getName()) && !Set.of(classes).contains(PathChecker.class.getName())) continue;
                Object service;
                try {
                    service = context.getService(ref);
                } catch (RuntimeException e) {
                    continue; // unregistered meanwhile
                }
                try {
                    if (service instanceof TargetType t) {
                        types.add(t.name());
                        ids.add((Long) ref.getProperty(Constants.SERVICE_ID));
                    } else if (service instanceof PathChecker c) {
                        checkers.add(c.name());
                    }
                } finally {
                    if (service != null) context.ungetService(ref);
                }
            }
        }
        return new BundleOffer(types, checkers, ids);
    }

    boolean isEmpty() { return targetTypes.isEmpty() && checkers.isEmpty(); }

    /** Whether this offer names at least every type and checker of {@code before}. */
    boolean covers(BundleOffer before) {
        return targetTypes.containsAll(before.targetTypes) && checkers.containsAll(before.checkers);
    }

    /** "target types linear, striped" / "checker directio" for messages. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        if (!targetTypes.isEmpty()) sb.append(targetTypes.size() == 1 ? "target type " : "target types ").append(String.join(", ", targetTypes));
        if (!checkers.isEmpty()) {
            if (sb.length() > 0) sb.append(" and ");
            sb.append(checkers.size() == 1 ? "checker " : "checkers ").append(String.join(", ", checkers));
        }
        return sb.toString();
    }
}
