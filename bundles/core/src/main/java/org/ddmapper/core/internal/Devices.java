package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.spi.Copier;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * The device set and the verbs on it, independent of OSGi (the DS component feeds it services
 * and settings). Owns the target-type registry, the block-device providers (files and dm: built
 * in, others as services), event delivery, persistence and boot.
 *
 * <p>Locks, always taken in this order: a device's {@code control} lock (one verb at a time per
 * device), then {@link #topology} (the name and id maps and the dm: stacking graph, held only
 * briefly). The I/O path takes neither.
 */
public final class Devices implements DeviceManager, DeviceHost, AutoCloseable {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+:@=-]{0,126}");
    /** How often devices whose rebuild failed (or whose old targets still hold I/O) are tried again. */
    static final long REBUILD_RETRY_MILLIS = 1000;
    private static final Pattern LINE_PREFIX = Pattern.compile("^line (\\d+): .*", Pattern.DOTALL);

    private final Object topology = new Object();
    private final Map<String, MappedDevice> byName = new ConcurrentHashMap<>();
    private final Map<Long, MappedDevice> byId = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final TargetTypeRegistry types = new TargetTypeRegistry();
    private final Map<String, List<BlockDeviceProvider>> providers = new ConcurrentHashMap<>();
    private final List<DeviceEventListener> whiteboard = new CopyOnWriteArrayList<>();
    private final List<DeviceEventListener> allSubscribers = new CopyOnWriteArrayList<>();
    private final Map<Long, List<DeviceEventListener>> deviceSubscribers = new ConcurrentHashMap<>();
    /** Devices that came from a boot table, with that file (their build errors name it). */
    private final Map<Long, Path> bootOrigins = new ConcurrentHashMap<>();
    private final ScheduledThreadPoolExecutor scheduler;
    private final Copier copier;
    private final Object persistLock = new Object();
    private final Object unparkLock = new Object();
    /** Bundles being rolled back: their devices come back without a BUNDLE_SWAPPED (the upgrade raises BUNDLE_ROLLED_BACK). */
    private final Set<String> quietSwaps = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicBoolean retryScheduled = new java.util.concurrent.atomic.AtomicBoolean();

    private volatile CoreConfig config = CoreConfig.forHome(Path.of(System.getProperty("java.io.tmpdir")));
    private volatile FileProvider files;
    private volatile StateStore store;
    private volatile boolean started;
    private volatile boolean closing;

    public Devices() {
        AtomicInteger n = new AtomicInteger();
        scheduler = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "ddmapper-timer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        copier = new Copier(scheduler);
    }

    // ================================================================== lifecycle

    /** Starts serving: opens the file provider, restores the saved devices, then creates boot-table devices. */
    public void start(CoreConfig config) {
        this.config = config;
        this.files = new FileProvider(config.ioThreads());
        this.store = new StateStore(config.stateDir());
        Set<String> restored = new HashSet<>();
        if (config.persist()) restored.addAll(restore(store.load()));
        for (BootTables.BootTable boot : BootTables.read(config.etc(), config.home())) {
            if (restored.contains(boot.name()) || byName.containsKey(boot.name())) { BootTables.noteShadowed(boot, byName.get(boot.name())); continue; }
            createFromBoot(boot);
        }
        started = true;
        unparkAll();
        persist();
    }

    private List<String> restore(StateStore.Snapshot snapshot) {
        List<String> names = new ArrayList<>();
        long maxId = 0;
        for (StateStore.DeviceRecord r : snapshot.devices()) {
            if (!NAME.matcher(r.name()).matches() || byName.containsKey(r.name()) || byId.containsKey(r.id())) {
                Logger.error("device state: skipping device '{}' (#{}): invalid or duplicate name or id", r.name(), r.id());
                continue;
            }
            MappedDevice d = new MappedDevice(this, r.id(), r.name());
            try {
                TableSpec live = r.live() == null ? null : TableSpec.of(r.live());
                TableSpec inactive = r.inactive() == null ? null : TableSpec.of(r.inactive());
                register(d);
                d.control.lock();
                try {
                    if (live != null) parkForBoot(d, live);
                    if (inactive != null) d.parkInactive(inactive);
                } finally {
                    d.control.unlock();
                }
                names.add(r.name());
                maxId = Math.max(maxId, r.id());
            } catch (DmException e) {
                Logger.error("device state: skipping device '{}': {}", r.name(), e.getMessage());
            }
        }
        nextId.set(Math.max(snapshot.nextId(), maxId + 1));
        return names;
    }

    private void createFromBoot(BootTables.BootTable boot) {
        try {
            checkName(boot.name());
            TableSpec spec = TableSpec.parse(boot.text());
            MappedDevice d = new MappedDevice(this, nextId.getAndIncrement(), boot.name());
            register(d);
            bootOrigins.put(d.id(), boot.file());
            d.control.lock();
            try {
                parkForBoot(d, spec);
            } finally {
                d.control.unlock();
            }
        } catch (DmException e) {
            Logger.error("boot table {}: {}", boot.file(), e.getMessage());
        }
    }

    /** A restored or boot device starts parked: its targets are built once every type it needs is registered. */
    private void parkForBoot(MappedDevice d, TableSpec spec) {
        String missing = missingType(spec);
        d.parkLive(spec, missing == null ? spec.lines().get(0).line().type() : missing, null);
        scheduleTypeWait(d);
    }

    /** Stops serving: tears every device down (upper devices first), keeping the saved state. */
    @Override
    public void close() {
        closing = true;
        for (MappedDevice d : devicesInOrder(true)) {
            d.control.lock();
            try {
                if (!d.isRemoved()) d.teardown("device '" + d.name() + "' was shut down with the core");
            } finally {
                d.control.unlock();
            }
            d.closeEvents();
            unregister(d);
        }
        FileProvider f = files;
        if (f != null) f.close();
        scheduler.shutdownNow();
    }

    // ================================================================== whiteboard

    public void addTargetType(TargetType type, String bundle, long serviceId) {
        boolean serving = types.add(type, bundle, serviceId);
        Logger.debug("target type {} {} from {} registered{}", type.name(), type.version(), bundle, serving ? "" : " (standby)");
        if (serving && started) unparkAll();
    }

    public void removeTargetType(TargetType type) {
        TargetTypeRegistry.Entry gone = types.entryOf(type);
        TargetTypeRegistry.Entry now = types.remove(type);
        if (closing) return;
        String fromBundle = gone == null ? null : gone.bundle();
        String why = now == null ? "unregistered" : "switching to " + now.bundle();
        for (List<MappedDevice> wave : waves(devicesInOrder(true))) parkTogether(wave, type, fromBundle, why);
        if (now != null && started) unparkAll();
    }

    /**
     * Devices (given upper devices first) cut into waves in which no device is stacked (through
     * any chain of dm: devices) on another of the same wave: a wave can be stopped all at once,
     * since what its devices have in flight only goes to devices that still serve.
     */
    private List<List<MappedDevice>> waves(List<MappedDevice> upperFirst) {
        List<List<MappedDevice>> waves = new ArrayList<>();
        List<MappedDevice> wave = new ArrayList<>();
        Set<MappedDevice> under = new HashSet<>();
        for (MappedDevice d : upperFirst) {
            if (under.contains(d)) {
                waves.add(wave);
                wave = new ArrayList<>();
                under.clear();
            }
            wave.add(d);
            ArrayDeque<MappedDevice> todo = new ArrayDeque<>(lowersOf(d));
            while (!todo.isEmpty()) {
                MappedDevice l = todo.poll();
                if (under.add(l)) todo.addAll(lowersOf(l));
            }
        }
        if (!wave.isEmpty()) waves.add(wave);
        return waves;
    }

    /**
     * Parks the devices of one wave that use {@code type}: under their control locks (taken in
     * wave order; every other path takes one control lock at a time), each is stopped, then each
     * drained and torn down. Stopping them first lets their I/O drain in parallel: with N devices
     * the stall grows by the slowest drain rather than by the sum of N drains.
     */
    private void parkTogether(List<MappedDevice> wave, TargetType type, String fromBundle, String why) {
        List<MappedDevice> locked = new ArrayList<>();
        try {
            for (MappedDevice d : wave) {
                d.control.lock();
                locked.add(d);
            }
            List<MappedDevice> stopped = new ArrayList<>();
            for (MappedDevice d : wave) if (!d.isRemoved() && d.stopFor(type)) stopped.add(d);
            for (MappedDevice d : stopped) {
                d.finishParkFor(type, fromBundle);
                Logger.info("device {} waits for target type {} ({})", d.name(), type.name(), why);
                scheduleTypeWait(d);
            }
        } finally {
            for (int i = locked.size() - 1; i >= 0; i--) locked.get(i).control.unlock();
        }
    }

    public void addProvider(BlockDeviceProvider provider) {
        for (String scheme : provider.schemes()) providers.computeIfAbsent(scheme, s -> new CopyOnWriteArrayList<>()).add(provider);
    }

    public void removeProvider(BlockDeviceProvider provider) {
        for (List<BlockDeviceProvider> list : providers.values()) list.remove(provider);
    }

    public void addListener(DeviceEventListener listener) { whiteboard.add(listener); }

    public void removeListener(DeviceEventListener listener) { whiteboard.remove(listener); }

    // ================================================================== parked devices

    /** The first type a spec names that is not registered, or null. */
    private String missingType(TableSpec spec) {
        for (SourceLine s : spec.lines()) if (!types.has(s.line().type())) return s.line().type();
        return null;
    }

    /** Builds every parked device whose types are all registered, lower devices of a stack first. */
    private void unparkAll() {
        boolean stuck = false;
        synchronized (unparkLock) {
            boolean progress = true;
            while (progress) {
                progress = false;
                stuck = false;
                for (MappedDevice d : devicesInOrder(false)) {
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
        if (d.holdsUndrainedTable()) return true;
        if (d.parkedType() != null && d.parkReason() != null) return true;
        TableSpec in = d.unbuiltInactiveSpec();
        return d.inactiveReason() != null && in != null && missingType(in) == null;
    }

    /**
     * Tries the stuck devices again shortly: a rebuild that failed (every path of a map down, a
     * device underneath missing) may succeed later, and a new type registering is not the only
     * thing that can change that.
     */
    private void scheduleRetry() {
        if (closing || !started || !retryScheduled.compareAndSet(false, true)) return;
        try {
            scheduler.schedule(() -> {
                retryScheduled.set(false);
                if (!closing) unparkAll();
            }, REBUILD_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            retryScheduled.set(false);
        }
    }

    /** Whether every dm: device a parked device's spec names is built (or missing altogether: its build will say so). */
    private boolean lowersReady(MappedDevice d) {
        TableSpec spec = d.liveSpec();
        if (spec == null) return true;
        for (String lower : dmNames(spec)) {
            MappedDevice l = byName.get(lower);
            if (l != null && l != d && l.parkedType() != null) return false;
        }
        return true;
    }

    private static List<String> dmNames(TableSpec spec) {
        List<String> out = new ArrayList<>();
        if (spec == null) return out;
        for (SourceLine s : spec.lines())
            for (String a : s.line().args()) if (a.startsWith("dm:")) out.add(a.substring(3));
        return out;
    }

    private boolean tryUnpark(MappedDevice d) {
        d.control.lock();
        try {
            TableSpec liveSpec = d.unbuiltLiveSpec();
            if (d.isRemoved() || d.parkedType() == null || liveSpec == null) return false;
            String missing = missingType(liveSpec);
            if (missing != null) {
                d.parkLive(liveSpec, missing, d.parkedStates());
                return false;
            }
            if (!d.oldTableDrained()) return false;
            boolean handover = d.handedOver();
            Table live;
            Table inactive = null;
            d.rebuilding(handover);
            try {
                try {
                    live = Table.build(this, d, liveSpec, d.parkedStates());
                    checkCurrent(d, live);
                } catch (DmException e) {
                    rebuildFailed(d, e);
                    return false;
                }
                TableSpec inactiveSpec = d.unbuiltInactiveSpec();
                if (inactiveSpec != null && missingType(inactiveSpec) == null) {
                    try {
                        inactive = Table.build(this, d, inactiveSpec, null);
                        checkCurrent(d, inactive);
                    } catch (DmException e) {
                        inactiveFailed(d, inactiveSpec, e, handover);
                    }
                }
            } finally {
                d.rebuilding(false);
            }
            TargetTypeRegistry.Entry serving = types.entry(d.parkedType());
            String toBundle = serving == null ? null : serving.bundle();
            try {
                d.unpark(live, inactive, toBundle, !quietSwaps.contains(BundleName.parse(toBundle).symbolicName()));
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
            boolean handover = d.handedOver();
            d.rebuilding(handover);
            try {
                Table t = Table.build(this, d, spec, null);
                checkCurrent(d, t);
                d.restoreInactive(t);
            } catch (DmException e) {
                inactiveFailed(d, spec, e, handover);
            } finally {
                d.rebuilding(false);
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
        if (reason.equals(d.inactiveReason())) return;
        Logger.error("device {}: {}", d.name(), reason);
        d.inactiveRefused(reason);
        d.raise(EventKind.TARGET_TYPE_MISSING, -1, Map.of("type", typeNamedBy(spec, e.getMessage()), "reason", reason));
    }

    /** The type of the line an error names ("line 2: …"), else the spec's first type. */
    private static String typeNamedBy(TableSpec spec, String message) {
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
            discard(d);
            return;
        }
        // stay parked: a rolled-back bundle may bring a type that builds it, or a retry may succeed (unparkAll retries);
        // the type-wait timer fails I/O otherwise
        String reason = "cannot rebuild its table: " + e.getMessage();
        if (reason.equals(d.parkReason())) return;
        Logger.error("device {}: {}", d.name(), reason);
        d.parkedBecause(reason);
        d.raise(EventKind.TARGET_TYPE_MISSING, -1, Map.of("type", String.valueOf(d.parkedType()), "reason", reason));
    }

    /** Throws (destroying the table) when a type it was built with is no longer the serving one (unregistered meanwhile). */
    private void checkCurrent(MappedDevice d, Table t) {
        for (TargetType type : t.types) {
            if (types.get(type.name()) != type) {
                t.destroy(d);
                throw new DmException(Errno.EAGAIN, "target type '" + type.name() + "' went away while the table was built; try again");
            }
        }
    }

    private void scheduleTypeWait(MappedDevice d) {
        long wait = config.typeWaitMillis();
        scheduler.schedule(() -> typeWaitExpired(d), wait, TimeUnit.MILLISECONDS);
    }

    private void typeWaitExpired(MappedDevice d) {
        d.control.lock();
        try {
            String type = d.parkedType();
            if (d.isRemoved() || type == null || d.parkedMillis() < config.typeWaitMillis()) return;
            Path boot = bootOrigins.remove(d.id());
            if (boot != null) {
                int line = lineOfType(d.liveSpec(), type);
                Logger.error("boot table {}: line {}: unknown target type '{}' (not registered after {} ms)", boot, line, type,
                        config.typeWaitMillis());
            } else {
                String reason = "target type '" + type + "' is not registered (waited " + config.typeWaitMillis() + " ms); I/O fails until it returns";
                int failed = d.failWhileParked(reason);
                Logger.error("device {}: {}; failed {} waiting requests", d.name(), reason, failed);
                return;
            }
        } finally {
            d.control.unlock();
        }
        discard(d);
    }

    private static int lineOfType(TableSpec spec, String type) {
        if (spec != null) for (SourceLine s : spec.lines()) if (s.line().type().equals(type)) return s.lineNumber();
        return 1;
    }

    /** Removes a device that never came up (bad boot table), silently apart from the log. */
    private void discard(MappedDevice d) {
        d.control.lock();
        try {
            if (d.isRemoved()) return;
            d.teardown("device '" + d.name() + "' could not be built");
            unregister(d);
        } finally {
            d.control.unlock();
        }
        d.closeEvents();
        persist();
    }

    // ================================================================== live upgrade support (BundleUpgrader)

    /** One device's progress through a swap. */
    public record RebuildState(String name, boolean gone, String parkedType, String parkReason, long lastStallMillis,
                               String inactiveType, String inactiveReason, boolean inactivePending, long swapParks) {
        /** Built and serving, its loaded table too (or removed meanwhile: nothing to wait for). */
        public boolean done() { return gone || (parkedType == null && !inactivePending); }
    }

    /** The target type names a bundle's services serve now. */
    public Set<String> typesServedBy(String symbolicName) {
        Set<String> out = new java.util.TreeSet<>();
        for (TargetTypeInfo t : types.infos()) if (BundleName.parse(t.bundle()).symbolicName().equals(symbolicName)) out.add(t.name());
        return out;
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
        for (MappedDevice d : devicesInOrder(false)) {
            if (!d.isRemoved() && (uses(d.liveSpec(), typeNames) || uses(d.inactiveSpec(), typeNames))) out.add(d.id());
        }
        return out;
    }

    private static boolean uses(TableSpec spec, Set<String> typeNames) {
        if (spec != null) for (SourceLine s : spec.lines()) if (typeNames.contains(s.line().type())) return true;
        return false;
    }

    public RebuildState rebuildState(long id) {
        MappedDevice d = byId.get(id);
        if (d == null || d.isRemoved()) return new RebuildState("#" + id, true, null, null, 0, null, null, false, 0);
        TableSpec in = d.unbuiltInactiveSpec();
        String inactiveReason = d.inactiveReason();
        return new RebuildState(d.name(), false, d.parkedType(), d.parkReason(), d.lastStallMillis(),
                in == null || inactiveReason == null ? null : typeNamedBy(in, inactiveReason.replaceFirst("^cannot rebuild its inactive table: ", "")),
                in == null ? null : inactiveReason, in != null && missingType(in) == null, d.swapParks());
    }

    /**
     * Quiesces, upper devices first, every listed device whose live table uses one of these types
     * (see {@link MappedDevice#stopForSwap}), so that the update that follows parks them with
     * nothing in flight. Devices not stacked on one another are stopped together, then drained
     * (their I/O drains in parallel; each wave has {@code timeoutMillis}). On a drain timeout
     * releases those already quiesced and throws ETIMEDOUT.
     */
    public void quiesceForUpgrade(List<Long> ids, Set<String> typeNames, long timeoutMillis) {
        List<MappedDevice> upperFirst = new ArrayList<>();
        for (long id : ids) {
            MappedDevice d = byId.get(id);
            if (d != null) upperFirst.add(d);
        }
        java.util.Collections.reverse(upperFirst);
        List<MappedDevice> done = new ArrayList<>();
        try {
            for (List<MappedDevice> wave : waves(upperFirst)) quiesceTogether(wave, typeNames, timeoutMillis, done);
        } catch (DmException e) {
            java.util.Collections.reverse(done);
            releaseQuiesced(done);
            throw e;
        }
    }

    /** One wave of {@link #quiesceForUpgrade}, under the wave's control locks (taken in order); adds what it quiesced to {@code done}. */
    private void quiesceTogether(List<MappedDevice> wave, Set<String> typeNames, long timeoutMillis, List<MappedDevice> done) {
        List<MappedDevice> locked = new ArrayList<>();
        try {
            for (MappedDevice d : wave) {
                d.control.lock();
                locked.add(d);
            }
            List<MappedDevice> stopped = new ArrayList<>();
            for (MappedDevice d : wave) {
                if (!d.isRemoved() && uses(d.liveSpec(), typeNames) && d.liveTable() != null && d.stopForSwap()) stopped.add(d);
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            for (int i = 0; i < stopped.size(); i++) {
                try {
                    stopped.get(i).finishSwapQuiesce(deadline, timeoutMillis);
                    done.add(stopped.get(i));
                } catch (DmException e) {
                    for (MappedDevice rest : stopped.subList(i + 1, stopped.size())) rest.abandonSwapStop();
                    throw e;
                }
            }
        } finally {
            for (int i = locked.size() - 1; i >= 0; i--) locked.get(i).control.unlock();
        }
    }

    /** Releases devices {@link #quiesceForUpgrade} quiesced and the upgrade did not park (it failed before), lower devices first. */
    public void releaseUpgradeQuiesce(List<Long> ids) {
        List<MappedDevice> list = new ArrayList<>();
        for (long id : ids) {
            MappedDevice d = byId.get(id);
            if (d != null) list.add(d);
        }
        releaseQuiesced(list);
    }

    private static void releaseQuiesced(List<MappedDevice> lowerFirst) {
        for (MappedDevice d : lowerFirst) {
            d.control.lock();
            try {
                if (!d.isRemoved()) d.releaseSwapQuiesce();
            } finally {
                d.control.unlock();
            }
        }
    }

    /** Raises a core event on a device (skipped when it was removed meanwhile). */
    public void raise(long id, EventKind kind, Map<String, String> details) {
        MappedDevice d = byId.get(id);
        if (d != null && !d.isRemoved()) d.raise(kind, -1, details);
    }

    /** While on, devices rebuilt on this bundle's types raise no BUNDLE_SWAPPED (a rollback is under way). */
    public void quietSwaps(String symbolicName, boolean on) {
        if (on) quietSwaps.add(symbolicName);
        else quietSwaps.remove(symbolicName);
    }

    // ================================================================== DeviceHost

    @Override
    public TargetType targetType(String name) { return types.get(name); }

    @Override
    public BlockDevice openReference(MappedDevice forDevice, String reference) {
        if (reference == null || reference.isEmpty()) throw new DmException(Errno.EINVAL, "empty device reference");
        String scheme = BlockDeviceProvider.schemeOf(reference);
        switch (scheme) {
            case "dm" -> {
                return openStacked(forDevice, reference);
            }
            case "file", "direct" -> {
                FileProvider f = files;
                if (f == null) throw new DmException(Errno.ENODEV, "'" + reference + "': the core is not started");
                return f.open(reference, false);
            }
            case "" -> throw new DmException(Errno.EINVAL,
                    "'" + abbreviate(reference) + "': not an absolute path, an nbd:// URI or dm:NAME");
            default -> {
                return provider(reference, scheme).open(reference, false);
            }
        }
    }

    private BlockDeviceProvider provider(String reference, String scheme) {
        List<BlockDeviceProvider> list = providers.get(scheme);
        if (list == null || list.isEmpty())
            throw new DmException(Errno.ENODEV, "'" + abbreviate(reference) + "': no provider for scheme '" + abbreviate(scheme) + "' is registered");
        return list.get(0);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        String scheme = BlockDeviceProvider.schemeOf(reference);
        if (scheme.equals("dm") || scheme.equals("file") || scheme.equals("direct") || scheme.isEmpty())
            throw new DmException(Errno.EOPNOTSUPP, "'" + abbreviate(reference) + "': this device kind cannot take a passed socket");
        return provider(reference, scheme).adoptSocket(reference, socket, negotiated);
    }

    /** dm:NAME: opens another mapped device, refusing to stack a device on itself, directly or through a chain. */
    private BlockDevice openStacked(MappedDevice forDevice, String reference) {
        String lowerName = reference.substring(3);
        if (forDevice != null && lowerName.equals(forDevice.name()))
            throw new DmException(Errno.EINVAL, "'" + abbreviate(reference) + "': a device cannot stack on itself");
        MappedDevice lower = byName.get(lowerName);
        if (lower == null || lower.isRemoved())
            throw new DmException(Errno.ENODEV, "'" + abbreviate(reference) + "': no such mapped device");
        if (forDevice != null) {
            synchronized (topology) {
                List<String> cycle = pathTo(lower, forDevice);
                if (cycle != null)
                    throw new DmException(Errno.EINVAL, "'" + reference + "': stacking " + forDevice.name() + " on " + lowerName
                            + " would make a cycle: " + String.join(" -> ", cycle) + " -> " + lowerName);
            }
        }
        return lower.open(reference);
    }

    /** The chain of names from {@code from} down to {@code to} through dm: stacking, or null when there is none. */
    private List<String> pathTo(MappedDevice from, MappedDevice to) {
        Map<MappedDevice, MappedDevice> parent = new java.util.HashMap<>();
        ArrayDeque<MappedDevice> queue = new ArrayDeque<>();
        Set<MappedDevice> seen = new HashSet<>();
        queue.add(from);
        seen.add(from);
        while (!queue.isEmpty()) {
            MappedDevice d = queue.poll();
            if (d == to) {
                List<String> chain = new ArrayList<>();
                for (MappedDevice x = d; x != null; x = parent.get(x)) chain.add(0, x.name());
                return chain;
            }
            for (MappedDevice lower : lowersOf(d)) {
                if (seen.add(lower)) {
                    parent.put(lower, d);
                    queue.add(lower);
                }
            }
        }
        return null;
    }

    /** The devices d stacks on, through any of its slots (built or parked). */
    private List<MappedDevice> lowersOf(MappedDevice d) {
        List<MappedDevice> out = new ArrayList<>();
        Table live = d.liveTable();
        Table inactive = d.inactiveTable();
        if (live != null) out.addAll(live.lowerDevices());
        else for (String n : dmNames(d.liveSpec())) addIfPresent(out, n);
        if (inactive != null) out.addAll(inactive.lowerDevices());
        else for (String n : dmNames(d.inactiveSpec())) addIfPresent(out, n);
        return out;
    }

    private void addIfPresent(List<MappedDevice> out, String name) {
        MappedDevice m = byName.get(name);
        if (m != null) out.add(m);
    }

    @Override
    public ScheduledExecutorService scheduler() { return scheduler; }

    @Override
    public Copier copier() { return copier; }

    @Override
    public void deliver(MappedDevice device, DeviceEvent event) {
        List<DeviceEventListener> own = deviceSubscribers.get(device.id());
        if (own != null) for (DeviceEventListener l : own) notify(l, event);
        for (DeviceEventListener l : allSubscribers) notify(l, event);
        for (DeviceEventListener l : whiteboard) notify(l, event);
    }

    private static void notify(DeviceEventListener listener, DeviceEvent event) {
        try {
            listener.onEvent(event);
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) throw vme;
            Logger.warn("event listener {} failed on {}: {}", listener.getClass().getName(), event.toLine(), t.toString());
        }
    }

    @Override
    public long drainTimeoutMillis() { return config.drainTimeoutMillis(); }

    // ================================================================== verbs

    @Override
    public DeviceInfo create(String name, String table) {
        checkName(name);
        TableSpec spec = table == null || table.isBlank() ? null : TableSpec.parse(table);
        MappedDevice d;
        synchronized (topology) {
            if (byName.containsKey(name)) throw new DmException(Errno.EBUSY, "device '" + name + "' already exists");
            d = new MappedDevice(this, nextId.getAndIncrement(), name);
            register(d);
        }
        d.control.lock();
        try {
            Table built = null;
            if (spec != null) {
                try {
                    built = buildChecked(d, spec);
                } catch (RuntimeException e) {
                    d.teardown("device '" + name + "' was not created");
                    unregister(d);
                    d.closeEvents();
                    throw e;
                }
            }
            d.raise(EventKind.CREATED, -1, Map.of());
            if (built != null) {
                try {
                    d.installInactive(built);
                    d.resume();
                } catch (RuntimeException e) {
                    d.teardown("device '" + name + "' was not created");
                    unregister(d);
                    d.raise(EventKind.REMOVED, -1, Map.of("force", "false", "failed", "0", "reason", e.getMessage()));
                    d.closeEvents();
                    throw e;
                }
            }
        } finally {
            d.control.unlock();
        }
        persistOrReport("device '" + name + "' was created");
        return d.info();
    }

    @Override
    public DeviceInfo load(DeviceRef ref, String table) {
        TableSpec spec = TableSpec.parse(table);
        MappedDevice d = resolve(ref);
        d.control.lock();
        try {
            live(d, ref);
            d.installInactive(buildChecked(d, spec));
        } finally {
            d.control.unlock();
        }
        persistOrReport("the table was loaded into the inactive slot of '" + d.name() + "'");
        return d.info();
    }

    /** Builds a table for d and re-checks, under the topology lock, that its dm: devices make no cycle. */
    private Table buildChecked(MappedDevice d, TableSpec spec) {
        Table t = Table.build(this, d, spec, null);
        checkCurrent(d, t);
        synchronized (topology) {
            for (MappedDevice lower : t.lowerDevices()) {
                List<String> cycle = lower == d ? List.of(d.name()) : pathTo(lower, d);
                if (cycle != null || lower.isRemoved()) {
                    t.destroy(d);
                    throw new DmException(Errno.EINVAL, lower.isRemoved() ? "'dm:" + lower.name() + "' was removed meanwhile"
                            : "'dm:" + lower.name() + "': stacking " + d.name() + " on it would make a cycle");
                }
            }
        }
        return t;
    }

    @Override
    public DeviceInfo clear(DeviceRef ref) {
        MappedDevice d = resolve(ref);
        d.control.lock();
        try {
            live(d, ref);
            d.clear();
        } finally {
            d.control.unlock();
        }
        persistOrReport("the inactive slot of '" + d.name() + "' was cleared");
        return d.info();
    }

    @Override
    public DeviceInfo suspend(DeviceRef ref, boolean noflush) {
        MappedDevice d = resolve(ref);
        d.control.lock();
        try {
            live(d, ref);
            d.suspend(noflush);
        } finally {
            d.control.unlock();
        }
        return d.info();
    }

    @Override
    public DeviceInfo resume(DeviceRef ref) {
        MappedDevice d = resolve(ref);
        d.control.lock();
        try {
            live(d, ref);
            d.resume();
            bootOrigins.remove(d.id());
        } finally {
            d.control.unlock();
        }
        persistOrReport("device '" + d.name() + "' was resumed");
        return d.info();
    }

    @Override
    public void remove(DeviceRef ref, boolean force) {
        MappedDevice d = resolve(ref);
        int failed;
        d.control.lock();
        try {
            live(d, ref);
            String refusal = d.removeRefusal();
            if (refusal != null && !force)
                throw new DmException(Errno.EBUSY, refusal + "; remove it with force to fail that I/O and remove it anyway");
            failed = d.teardown("device '" + d.name() + "' was removed" + (force ? " by force" : "") + " while the request waited");
            unregister(d);
            d.raise(EventKind.REMOVED, -1, Map.of("force", Boolean.toString(force), "failed", Integer.toString(failed)));
        } finally {
            d.control.unlock();
        }
        d.closeEvents();
        deviceSubscribers.remove(d.id());
        bootOrigins.remove(d.id());
        persistOrReport("device '" + d.name() + "' was removed");
    }

    @Override
    public DeviceInfo rename(DeviceRef ref, String newName) {
        checkName(newName);
        MappedDevice d = resolve(ref);
        String old;
        d.control.lock();
        try {
            live(d, ref);
            old = d.name();
            if (old.equals(newName)) return d.info();
            synchronized (topology) {
                if (byName.containsKey(newName)) throw new DmException(Errno.EBUSY, "device '" + newName + "' already exists");
                for (MappedDevice other : byId.values()) {
                    if (other != d && (dmNames(other.liveSpec()).contains(old) || dmNames(other.inactiveSpec()).contains(old)))
                        throw new DmException(Errno.EBUSY, "device '" + old + "' is used by '" + other.name() + "' as dm:" + old
                                + "; renaming it would break that table");
                }
                byName.remove(old);
                d.rename(newName);
                byName.put(newName, d);
            }
            d.raise(EventKind.RENAMED, -1, Map.of("from", old, "to", newName));
        } finally {
            d.control.unlock();
        }
        persistOrReport("device '" + old + "' was renamed to '" + newName + "'");
        return d.info();
    }

    @Override
    public List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        for (MappedDevice d : byId.values()) if (!d.isRemoved()) out.add(d.info());
        out.sort(Comparator.comparing(DeviceInfo::name));
        return out;
    }

    @Override
    public DeviceInfo info(DeviceRef ref) { return resolve(ref).info(); }

    @Override
    public List<TargetStatus> table(DeviceRef ref, boolean inactive) {
        return resolve(ref).lines(inactive, StatusType.TABLE);
    }

    @Override
    public List<TargetStatus> status(DeviceRef ref) {
        return resolve(ref).lines(false, StatusType.INFO);
    }

    @Override
    public List<TargetStatus> status(DeviceRef ref, boolean inactive) {
        return resolve(ref).lines(inactive, StatusType.INFO);
    }

    @Override
    public List<String> deps(DeviceRef ref) { return resolve(ref).deps(); }

    @Override
    public String message(DeviceRef ref, TargetRef target, Message message) {
        try {
            return resolve(ref).message(target, message);
        } finally {
            message.closeFds();
        }
    }

    @Override
    public long waitEvent(DeviceRef ref, long afterEventNr, long timeoutMillis) throws InterruptedException {
        return resolve(ref).awaitEvent(afterEventNr, timeoutMillis);
    }

    @Override
    public List<DeviceEvent> events(DeviceRef ref, long afterEventNr) { return resolve(ref).events(afterEventNr); }

    @Override
    public AutoCloseable subscribe(DeviceRef ref, DeviceEventListener listener) {
        if (listener == null) throw new DmException(Errno.EINVAL, "no listener given");
        if (ref == null) {
            allSubscribers.add(listener);
            return () -> allSubscribers.remove(listener);
        }
        long id = resolve(ref).id();
        List<DeviceEventListener> list = deviceSubscribers.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>());
        list.add(listener);
        return () -> list.remove(listener);
    }

    @Override
    public List<TargetTypeInfo> targets() { return types.infos(); }

    @Override
    public OpenDevice open(DeviceRef ref) {
        MappedDevice d = resolve(ref);
        return d.open("dm:" + d.name());
    }

    // ================================================================== helpers

    private MappedDevice resolve(DeviceRef ref) {
        if (ref == null) throw new DmException(Errno.EINVAL, "no device given");
        MappedDevice d = ref instanceof DeviceRef.Instance i ? byId.get(i.id()) : byName.get(((DeviceRef.Named) ref).name());
        if (d == null || d.isRemoved()) throw new DmException(Errno.ENXIO, "no device " + describe(ref));
        return d;
    }

    private static void live(MappedDevice d, DeviceRef ref) {
        if (d.isRemoved()) throw new DmException(Errno.ENXIO, "no device " + describe(ref));
    }

    private static String describe(DeviceRef ref) {
        return ref instanceof DeviceRef.Instance i ? "#" + i.id() : "named '" + abbreviate(((DeviceRef.Named) ref).name()) + "'";
    }

    static void checkName(String name) {
        if (name == null || name.isEmpty()) throw new DmException(Errno.EINVAL, "a device needs a name");
        if (!NAME.matcher(name).matches())
            throw new DmException(Errno.EINVAL, "invalid device name '" + abbreviate(TableLine.escape(printable(name)))
                    + "': use 1 to 127 letters, digits and . _ + : @ = -, starting with a letter or digit");
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(Character.isISOControl(c) ? '?' : c);
        return sb.toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }

    private void register(MappedDevice d) {
        synchronized (topology) {
            byName.put(d.name(), d);
            byId.put(d.id(), d);
        }
    }

    private void unregister(MappedDevice d) {
        synchronized (topology) {
            byName.remove(d.name(), d);
            byId.remove(d.id(), d);
        }
    }

    /**
     * Every device, ordered along dm: stacking: lower devices before the devices built on them,
     * or (upperFirst) the reverse, so that an upper device drains into lowers that still serve.
     */
    private List<MappedDevice> devicesInOrder(boolean upperFirst) {
        List<MappedDevice> all = new ArrayList<>(byId.values());
        all.sort(Comparator.comparingLong(MappedDevice::id));
        List<MappedDevice> lowerFirst = new ArrayList<>();
        Set<MappedDevice> done = new HashSet<>();
        for (MappedDevice d : all) visitLowers(d, done, new HashSet<>(), lowerFirst);
        if (upperFirst) java.util.Collections.reverse(lowerFirst);
        return lowerFirst;
    }

    private void visitLowers(MappedDevice d, Set<MappedDevice> done, Set<MappedDevice> path, List<MappedDevice> out) {
        if (done.contains(d) || !path.add(d)) return;
        for (MappedDevice lower : lowersOf(d)) visitLowers(lower, done, path, out);
        path.remove(d);
        if (done.add(d)) out.add(d);
    }

    /** Writes the device set where no caller waits for it (start, a boot table that failed): a failure is logged. */
    private void persist() {
        try {
            save();
        } catch (IOException e) {
            Logger.error("cannot save device state to {}: {}", store.file(), StateStore.describe(e));
        }
    }

    /**
     * Writes the device set after a verb changed it. Like the kernel, the change stands when the
     * save fails (the device is created, loaded, removed...), but the caller must learn that a
     * restart would not bring it back: the verb fails with EIO naming the change, the file and
     * the cause.
     */
    private void persistOrReport(String change) {
        try {
            save();
        } catch (IOException e) {
            String cause = StateStore.describe(e);
            Logger.error("{}, but the device state could not be saved to {}: {}", change, store.file(), cause);
            throw new DmException(Errno.EIO, change + ", but the device state could not be saved to " + store.file() + " (" + cause
                    + "); a restart would not bring this change back");
        }
    }

    private void save() throws IOException {
        CoreConfig c = config;
        if (!c.persist() || closing || !started) return;
        synchronized (persistLock) {
            List<StateStore.DeviceRecord> records = new ArrayList<>();
            for (MappedDevice d : devicesInOrder(false)) {
                if (d.isRemoved()) continue;
                TableSpec live = d.liveSpec();
                TableSpec inactive = d.inactiveSpec();
                records.add(new StateStore.DeviceRecord(d.id(), d.name(), live == null ? null : live.tableLines(),
                        inactive == null ? null : inactive.tableLines()));
            }
            store.save(new StateStore.Snapshot(nextId.get(), records));
        }
    }

    /** The home directory in use. */
    public Path home() { return config.home(); }
}
