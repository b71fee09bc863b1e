package org.ddmapper.core.internal;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * Parks devices when a target type they use goes away and builds them again when it is back.
 *
 * <p>A device is parked (its targets torn down, its specs kept, its I/O held) when a type its
 * tables use is unregistered — a bundle being updated or stopped — and at boot, until every type
 * its saved or etc/tables/ table needs is registered. Whenever a type registers, every parked
 * device whose types are all there is rebuilt, lower devices of a stack first, with the state its
 * old targets handed over. A rebuild that fails (every path of a map down, a device underneath
 * missing) is tried again every {@value #RETRY_MILLIS} ms; a type that stays away longer than the
 * type wait makes the device fail its I/O (or, for a boot table, gives the device up).
 */
final class Rebuilds {
    /** How often devices whose rebuild failed (or whose old targets still hold I/O) are tried again. */
    static final long RETRY_MILLIS = 1000;
    private static final Pattern LINE_PREFIX = Pattern.compile("^line (\\d+): .*", Pattern.DOTALL);

    private final DeviceHost host;
    private final Topology topology;
    private final TargetTypeRegistry types;
    private final ScheduledExecutorService scheduler;
    private final LongSupplier typeWaitMillis;
    /** Gives up a device that never came up (bad boot table): tears it down and forgets it. */
    private final Consumer<MappedDevice> discard;
    private final Object unparkLock = new Object();
    private final AtomicBoolean retryScheduled = new AtomicBoolean();
    /** Devices that came from a boot table, with that file (their build errors name it). */
    private final Map<Long, Path> bootOrigins = new ConcurrentHashMap<>();
    /** Bundles being rolled back: their devices come back without a BUNDLE_SWAPPED (the upgrade raises BUNDLE_ROLLED_BACK). */
    private final Set<String> quietSwaps = ConcurrentHashMap.newKeySet();
    private volatile boolean running;

    Rebuilds(DeviceHost host, Topology topology, TargetTypeRegistry types, ScheduledExecutorService scheduler, LongSupplier typeWaitMillis,
             Consumer<MappedDevice> discard) {
        this.host = host;
        this.topology = topology;
        this.types = types;
        this.scheduler = scheduler;
        this.typeWaitMillis = typeWaitMillis;
        this.discard = discard;
    }

    /** Rebuilds run from now on (start) or no more (close). */
    void running(boolean on) { running = on; }

    /** A restored or boot device starts parked: its targets are built once every type it needs is registered. */
    void parkForBoot(MappedDevice d, TableSpec spec, Path bootFile) {
        if (bootFile != null) bootOrigins.put(d.id(), bootFile);
        String missing = missingType(spec);
        Parking.parkLive(d, spec, missing == null ? spec.lines().get(0).line().type() : missing, null);
        scheduleTypeWait(d);
    }

    /** The device no longer counts as coming from a boot table (resumed, removed, rebuilt). */
    void forgetBoot(long id) { bootOrigins.remove(id); }

    /** While on, devices rebuilt on this bundle's types raise no BUNDLE_SWAPPED (a rollback is under way). */
    void quietSwaps(String symbolicName, boolean on) {
        if (on) quietSwaps.add(symbolicName);
        else quietSwaps.remove(symbolicName);
    }

    /**
     * Parks the devices of one wave that use {@code type}: under their control locks, each is
     * stopped, then each drained and torn down. Stopping them first lets their I/O drain in
     * parallel: with N devices the stall grows by the slowest drain rather than by the sum of N.
     */
    void parkWave(List<MappedDevice> wave, TargetType type, String fromBundle, String why) {
        Topology.underControl(wave, () -> {
            List<MappedDevice> stopped = wave.stream().filter(d -> !d.isRemoved() && Parking.stopFor(d, type)).toList();
            for (MappedDevice d : stopped) {
                Parking.finishParkFor(d, type, fromBundle);
                Logger.info("device {} waits for target type {} ({})", d.name(), type.name(), why);
                scheduleTypeWait(d);
            }
        });
    }

    /** The first type a spec names that is not registered, or null. */
    String missingType(TableSpec spec) {
        for (SourceLine s : spec.lines()) if (!types.has(s.line().type())) return s.line().type();
        return null;
    }

    /** Builds every parked device whose types are all registered, lower devices of a stack first. */
    void unparkAll() {
        boolean stuck = false;
        synchronized (unparkLock) {
            boolean progress = true;
            while (progress) {
                progress = false;
                stuck = false;
                for (MappedDevice d : topology.inOrder(false)) {
                    if (d.isRemoved()) continue;
                    if (lowersReady(d)) {
                        if (d.parkedType() != null) {
                            if (tryUnpark(d)) progress = true;
                        } else if (d.unbuiltInactiveSpec() != null) {
                            rebuildInactive(d);
                        }
                    }
                    stuck |= retryable(d);
                }
            }
        }
        if (stuck) scheduleRetry();
    }

    /** Whether a device waits for something a later try may bring although its types are registered. */
    private boolean retryable(MappedDevice d) {
        if (d.isRemoved()) return false;
        Handover h = d.handover();
        Handover.Parked p = h.parked();
        if (p != null && (p.draining() != null || p.refusal() != null)) return true;
        TableSpec in = d.unbuiltInactiveSpec();
        return h.inactiveRefusal() != null && in != null && missingType(in) == null;
    }

    /**
     * Tries the stuck devices again shortly: a rebuild that failed may succeed later, and a new
     * type registering is not the only thing that can change that.
     */
    private void scheduleRetry() {
        if (!running || !retryScheduled.compareAndSet(false, true)) return;
        try {
            scheduler.schedule(() -> {
                retryScheduled.set(false);
                if (running) unparkAll();
            }, RETRY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            retryScheduled.set(false);
        }
    }

    /** Whether every dm: device a parked device's spec names is built (or missing altogether: its build will say so). */
    private boolean lowersReady(MappedDevice d) {
        for (String lower : Topology.dmNames(d.liveSpec())) {
            MappedDevice l = topology.named(lower);
            if (l != null && l != d && l.parkedType() != null) return false;
        }
        return true;
    }

    private boolean tryUnpark(MappedDevice d) {
        d.control.lock();
        try {
            TableSpec liveSpec = d.unbuiltLiveSpec();
            Handover.Parked parked = d.handover().parked();
            if (d.isRemoved() || parked == null || liveSpec == null) return false;
            String missing = missingType(liveSpec);
            if (missing != null) {
                Parking.parkLive(d, liveSpec, missing, parked.states());
                return false;
            }
            if (!d.oldTableDrained()) return false;
            boolean handover = d.handover().handedOver();
            Table live;
            Table inactive = null;
            try {
                live = Table.build(host, d, liveSpec, parked.states(), handover);
                checkCurrent(d, live);
            } catch (DmException e) {
                rebuildFailed(d, e);
                return false;
            }
            TableSpec inactiveSpec = d.unbuiltInactiveSpec();
            if (inactiveSpec != null && missingType(inactiveSpec) == null) {
                try {
                    inactive = Table.build(host, d, inactiveSpec, null, handover);
                    checkCurrent(d, inactive);
                } catch (DmException e) {
                    inactiveFailed(d, inactiveSpec, e, handover);
                }
            }
            TargetTypeRegistry.Entry serving = types.entry(parked.type());
            String toBundle = serving == null ? null : serving.bundle();
            try {
                Parking.unpark(d, live, inactive, toBundle, !quietSwaps.contains(BundleName.parse(toBundle).symbolicName()));
            } catch (DmException e) {
                rebuildFailed(d, e);
                return false;
            }
            bootOrigins.remove(d.id());
            return true;
        } finally {
            d.control.unlock();
        }
    }

    /** Rebuilds an inactive table that was torn down with its type (the live one did not need that type). */
    private void rebuildInactive(MappedDevice d) {
        d.control.lock();
        try {
            TableSpec spec = d.unbuiltInactiveSpec();
            if (d.isRemoved() || d.parkedType() != null || spec == null || missingType(spec) != null) return;
            boolean handover = d.handover().handedOver();
            try {
                Table t = Table.build(host, d, spec, null, handover);
                checkCurrent(d, t);
                Parking.restoreInactive(d, t);
            } catch (DmException e) {
                inactiveFailed(d, spec, e, handover);
            }
        } finally {
            d.control.unlock();
        }
    }

    /**
     * A loaded (inactive) table that does not build again. Restored at boot: dropped, as before.
     * Torn down by a type going away: kept (the kernel never drops a loaded table), its refusal
     * recorded: an upgrade rolls back over it, and it is tried again until it builds or is cleared.
     */
    private void inactiveFailed(MappedDevice d, TableSpec spec, DmException e, boolean handover) {
        if (!handover) {
            Logger.error("device {}: dropping its inactive table, which no longer builds: {}", d.name(), e.getMessage());
            d.clear();
            return;
        }
        String reason = "cannot rebuild its inactive table: " + e.getMessage();
        if (reason.equals(d.handover().inactiveRefusal())) return;
        Logger.error("device {}: {}", d.name(), reason);
        Parking.inactiveRefused(d, reason);
        d.raise(new EventPayload.TargetTypeMissing(typeNamedBy(spec, e.getMessage()), reason));
    }

    /** The type of the line an error names ("line 2: …"), else the spec's first type. */
    static String typeNamedBy(TableSpec spec, String message) {
        var m = LINE_PREFIX.matcher(String.valueOf(message));
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1));
            for (SourceLine s : spec.lines()) if (s.lineNumber() == n) return s.line().type();
        }
        return spec.lines().get(0).line().type();
    }

    private void rebuildFailed(MappedDevice d, DmException e) {
        Path boot = bootOrigins.remove(d.id());
        if (boot != null) {
            Logger.error("boot table {}: {}", boot, e.getMessage());
            discard.accept(d);
            return;
        }
        // stay parked: a rolled-back bundle may bring a type that builds it, or a retry may succeed (unparkAll retries);
        // the type-wait timer fails I/O otherwise
        String reason = "cannot rebuild its table: " + e.getMessage();
        if (reason.equals(d.handover().parked().refusal())) return;
        Logger.error("device {}: {}", d.name(), reason);
        Parking.rebuildRefused(d, reason);
        d.raise(new EventPayload.TargetTypeMissing(String.valueOf(d.parkedType()), reason));
    }

    /** Throws (destroying the table) when a type it was built with is no longer the serving one (unregistered meanwhile). */
    void checkCurrent(MappedDevice d, Table t) {
        for (TargetType type : t.types) {
            if (types.get(type.name()) != type) {
                t.destroy(d);
                throw new DmException(Errno.EAGAIN, "target type '" + type.name() + "' went away while the table was built; try again");
            }
        }
    }

    private void scheduleTypeWait(MappedDevice d) {
        scheduler.schedule(() -> typeWaitExpired(d), typeWaitMillis.getAsLong(), TimeUnit.MILLISECONDS);
    }

    private void typeWaitExpired(MappedDevice d) {
        long wait = typeWaitMillis.getAsLong();
        d.control.lock();
        try {
            String type = d.parkedType();
            if (d.isRemoved() || type == null || d.handover().parkedMillis() < wait) return;
            Path boot = bootOrigins.remove(d.id());
            if (boot == null) {
                String reason = "target type '" + type + "' is not registered (waited " + wait + " ms); I/O fails until it returns";
                int failed = Parking.failWhileParked(d, reason);
                Logger.error("device {}: {}; failed {} waiting requests", d.name(), reason, failed);
                return;
            }
            Logger.error("boot table {}: line {}: unknown target type '{}' (not registered after {} ms)", boot, lineOfType(d.liveSpec(), type),
                    type, wait);
        } finally {
            d.control.unlock();
        }
        discard.accept(d);
    }

    private static int lineOfType(TableSpec spec, String type) {
        if (spec != null) for (SourceLine s : spec.lines()) if (s.line().type().equals(type)) return s.lineNumber();
        return 1;
    }
}
