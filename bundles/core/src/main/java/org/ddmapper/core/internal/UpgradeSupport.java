package org.ddmapper.core.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.ddmapper.api.EventPayload;

/**
 * What a live upgrade ({@code upgrade.BundleUpgrader}, {@code upgrade.UpgradeQuiesce}) asks of the
 * device set: which types a bundle serves and which devices use them, each device's progress
 * through a swap, the devices to quiesce in their stacking waves under their control locks, the
 * events the upgrade raises itself, and a switch that keeps a rollback's rebuilds quiet.
 */
public final class UpgradeSupport {
    private final Topology topology;
    private final TargetTypeRegistry types;
    private final Rebuilds rebuilds;
    private final Supplier<CoreConfig> config;

    UpgradeSupport(Topology topology, TargetTypeRegistry types, Rebuilds rebuilds, Supplier<CoreConfig> config) {
        this.topology = topology;
        this.types = types;
        this.rebuilds = rebuilds;
        this.config = config;
    }

    /** The home directory in use (an upgrade stages jars there). */
    public Path home() { return config.get().home(); }

    /** How long a suspend waits for in-flight I/O. */
    public long drainTimeoutMillis() { return config.get().drainTimeoutMillis(); }

    /** One device's progress through a swap. */
    public record RebuildState(String name, boolean gone, String parkedType, String parkReason, long lastStallMillis,
                               String inactiveType, String inactiveReason, boolean inactivePending, long swapParks) {
        /** Built and serving, its loaded table too (or removed meanwhile: nothing to wait for). */
        public boolean done() { return gone || (parkedType == null && !inactivePending); }
    }

    public RebuildState rebuildState(long id) {
        MappedDevice d = topology.withId(id);
        if (d == null || d.isRemoved()) return new RebuildState("#" + id, true, null, null, 0, null, null, false, 0);
        TableSpec in = d.unbuiltInactiveSpec();
        Handover h = d.handover();
        String inactiveReason = h.inactiveRefusal();
        return new RebuildState(d.name(), false, h.parkedType(), h.isParked() ? h.parked().refusal() : null, h.lastStallMillis(),
                in == null || inactiveReason == null ? null
                        : Rebuilds.typeNamedBy(in, inactiveReason.replaceFirst("^cannot rebuild its inactive table: ", "")),
                in == null ? null : inactiveReason, in != null && rebuilds.missingType(in) == null, h.swapParks());
    }

    /** Whether each name is served by one of these services (the new bundle's registrations). */
    public boolean servedBy(Set<String> typeNames, Set<Long> serviceIds) {
        for (String n : typeNames) {
            TargetTypeRegistry.Entry e = types.entry(n);
            if (e == null || !serviceIds.contains(e.serviceId())) return false;
        }
        return true;
    }

    /** The ids of the devices whose live or inactive table names one of these types, lower devices first. */
    public List<Long> devicesUsing(Set<String> typeNames) {
        List<Long> out = new ArrayList<>();
        for (MappedDevice d : topology.inOrder(false))
            if (!d.isRemoved() && (uses(d.liveSpec(), typeNames) || uses(d.inactiveSpec(), typeNames))) out.add(d.id());
        return out;
    }

    /** Whether the device's live table names one of these types. */
    public boolean liveUses(MappedDevice d, Set<String> typeNames) { return uses(d.liveSpec(), typeNames); }

    private static boolean uses(TableSpec spec, Set<String> typeNames) {
        if (spec != null) for (SourceLine s : spec.lines()) if (typeNames.contains(s.line().type())) return true;
        return false;
    }

    /** The devices with these ids that still exist, in the order given. */
    public List<MappedDevice> withIds(List<Long> ids) {
        List<MappedDevice> out = new ArrayList<>();
        for (long id : ids) {
            MappedDevice d = topology.withId(id);
            if (d != null) out.add(d);
        }
        return out;
    }

    /** See {@link Topology#waves}. */
    public List<List<MappedDevice>> waves(List<MappedDevice> upperFirst) { return topology.waves(upperFirst); }

    /** Runs {@code each} under the control locks of every device of a wave (taken in order). */
    public void underControl(List<MappedDevice> wave, Runnable each) { Topology.underControl(wave, each); }

    /** Raises a core event on a device (skipped when it was removed meanwhile). */
    public void raise(long id, EventPayload payload) {
        MappedDevice d = topology.withId(id);
        if (d != null && !d.isRemoved()) d.raise(payload);
    }

    /** While on, devices rebuilt on this bundle's types raise no BUNDLE_SWAPPED (a rollback is under way). */
    public void quietSwaps(String symbolicName, boolean on) { rebuilds.quietSwaps(symbolicName, on); }
}
