package org.ddmapper.targets.snapshot.internal;

import java.util.HashMap;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * The origins of this runtime that have snapshots or origin targets, by the origin's identity
 * ({@link org.ddmapper.spi.TargetContext#identityOf}): how a {@code snapshot} table in one mapped
 * device and the {@code snapshot-origin} table of another find each other (the kernel's origin
 * hash). One per bundle instance: a live upgrade of this bundle starts with an empty one, which the
 * rebuilt targets fill again (see {@link OriginGroup}, awaited snapshots).
 *
 * <p>Framework property {@value #AWAIT_PROPERTY}: how long an origin rebuilt by a live upgrade
 * holds its writes for the snapshots it had before giving up on those not back (default
 * {@value #DEFAULT_AWAIT_MILLIS} ms).
 */
@Component(service = SnapshotRegistry.class)
public class SnapshotRegistry {
    static final String AWAIT_PROPERTY = "ddmapper.snapshot.handoverWaitMillis";
    static final long DEFAULT_AWAIT_MILLIS = 30_000;

    private final Map<String, OriginGroup> groups = new HashMap<>();
    private volatile long awaitMillis = DEFAULT_AWAIT_MILLIS;

    public SnapshotRegistry() {}

    /** A registry outside a framework (tests). */
    public SnapshotRegistry(long awaitMillis) {
        this.awaitMillis = awaitMillis;
    }

    @Activate
    void activate(BundleContext context) {
        String value = context.getProperty(AWAIT_PROPERTY);
        if (value == null || value.isBlank()) return;
        try {
            awaitMillis = Math.max(0, Long.parseLong(value.strip()));
        } catch (NumberFormatException e) {
            org.tinylog.Logger.warn("{} = '{}' is not a number of milliseconds; using {}", AWAIT_PROPERTY, value, DEFAULT_AWAIT_MILLIS);
        }
    }

    /** How long a rebuilt origin waits for its snapshots. */
    public long awaitMillis() { return awaitMillis; }

    /** The group of an origin, made when first asked for. */
    public synchronized OriginGroup group(String originKey) {
        return groups.computeIfAbsent(originKey, OriginGroup::new);
    }

    /** Forgets a group nothing refers to any more. */
    public synchronized void releaseIfIdle(OriginGroup group) {
        if (group.idle()) groups.remove(group.originKey, group);
    }

    /** How many origins are known (for tests). */
    public synchronized int size() { return groups.size(); }
}
