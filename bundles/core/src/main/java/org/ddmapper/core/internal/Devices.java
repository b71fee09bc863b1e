package org.ddmapper.core.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.Copier;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * The DeviceManager verbs on the device set, independent of OSGi (the DS component feeds it
 * services and settings), and what a mapped device needs from its owner ({@link DeviceHost}).
 * The pieces it puts together: the set and its stacking graph ({@link Topology}), the target-type
 * registry, the reference providers ({@link DeviceReferences}), event delivery ({@link EventHub}),
 * the saved state ({@link Persistence}) and the parking and rebuilding of devices whose target
 * types come and go ({@link Rebuilds}); what an upgrade asks of the set is at the end.
 *
 * <p>Locks, always taken in this order: a device's {@code control} lock (one verb at a time per
 * device), then the topology's (held only briefly). The I/O path takes neither.
 */
public final class Devices implements DeviceManager, DeviceHost, AutoCloseable {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+:@=-]{0,126}");

    private final Topology topology = new Topology();
    private final TargetTypeRegistry types = new TargetTypeRegistry();
    private final DeviceReferences references = new DeviceReferences(topology);
    private final EventHub hub = new EventHub();
    private final ScheduledThreadPoolExecutor scheduler;
    private final Copier copier;
    private final Persistence persistence;
    private final Rebuilds rebuilds;
    private final UpgradeSupport upgrades;
    private volatile CoreConfig config = CoreConfig.forHome(Path.of(System.getProperty("java.io.tmpdir")));
    private volatile FileProvider files;
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
        persistence = new Persistence(topology, () -> config.persist() && started && !closing);
        rebuilds = new Rebuilds(this, topology, types, scheduler, () -> config.typeWaitMillis(), this::discard);
        upgrades = new UpgradeSupport(topology, types, rebuilds, () -> config);
    }

    // ================================================================== lifecycle

    /** Starts serving: opens the file provider, restores the saved devices, then creates boot-table devices. */
    public void start(CoreConfig config) {
        this.config = config;
        this.files = new FileProvider(config.ioThreads());
        references.files(files);
        persistence.open(config.stateDir());
        Set<String> restored = config.persist() ? restore(persistence.load()) : Set.of();
        for (BootTables.BootTable boot : BootTables.read(config.etc(), config.home())) {
            if (restored.contains(boot.name()) || topology.has(boot.name())) {
                BootTables.noteShadowed(boot, topology.named(boot.name()));
                continue;
            }
            createFromBoot(boot);
        }
        started = true;
        rebuilds.running(true);
        rebuilds.unparkAll();
        persistence.save();
    }

    private Set<String> restore(StateStore.Snapshot snapshot) {
        Set<String> names = new HashSet<>();
        long maxId = 0;
        for (StateStore.DeviceRecord r : snapshot.devices()) {
            if (!NAME.matcher(r.name()).matches() || topology.has(r.name()) || topology.hasId(r.id())) {
                Logger.error("device state: skipping device '{}' (#{}): invalid or duplicate name or id", r.name(), r.id());
                continue;
            }
            try {
                TableSpec live = r.live() == null ? null : TableSpec.of(r.live());
                TableSpec inactive = r.inactive() == null ? null : TableSpec.of(r.inactive());
                MappedDevice d = new MappedDevice(this, r.id(), r.name());
                topology.add(d);
                d.control.lock();
                try {
                    if (live != null) rebuilds.parkForBoot(d, live, null);
                    if (inactive != null) d.deferInactive(inactive);
                } finally {
                    d.control.unlock();
                }
                names.add(r.name());
                maxId = Math.max(maxId, r.id());
            } catch (DmException e) {
                Logger.error("device state: skipping device '{}': {}", r.name(), e.getMessage());
            }
        }
        topology.idsFrom(Math.max(snapshot.nextId(), maxId + 1));
        return names;
    }

    private void createFromBoot(BootTables.BootTable boot) {
        try {
            checkName(boot.name());
            TableSpec spec = TableSpec.parse(boot.text());
            MappedDevice d = topology.create(boot.name(), id -> new MappedDevice(this, id, boot.name()));
            d.control.lock();
            try {
                rebuilds.parkForBoot(d, spec, boot.file());
            } finally {
                d.control.unlock();
            }
        } catch (DmException e) {
            Logger.error("boot table {}: {}", boot.file(), e.getMessage());
        }
    }

    /** Stops serving: tears every device down (upper devices first), keeping the saved state. */
    @Override
    public void close() {
        closing = true;
        rebuilds.running(false);
        for (MappedDevice d : topology.inOrder(true)) {
            d.control.lock();
            try {
                if (!d.isRemoved()) d.teardown("device '" + d.name() + "' was shut down with the core");
            } finally {
                d.control.unlock();
            }
            d.closeEvents();
            topology.remove(d);
        }
        FileProvider f = files;
        if (f != null) f.close();
        scheduler.shutdownNow();
    }

    /** Removes a device that never came up (bad boot table), silently apart from the log. */
    private void discard(MappedDevice d) {
        d.control.lock();
        try {
            if (d.isRemoved()) return;
            d.teardown("device '" + d.name() + "' could not be built");
            topology.remove(d);
        } finally {
            d.control.unlock();
        }
        d.closeEvents();
        persistence.save();
    }

    // ================================================================== whiteboard

    public void addTargetType(TargetType type, String bundle, long serviceId) {
        boolean serving = types.add(type, bundle, serviceId);
        Logger.debug("target type {} {} from {} registered{}", type.name(), type.version(), bundle, serving ? "" : " (standby)");
        if (serving && started) rebuilds.unparkAll();
    }

    /** A type service went away: every device using it parks (wave by wave, upper devices first) until a type of its name serves again. */
    public void removeTargetType(TargetType type) {
        TargetTypeRegistry.Entry gone = types.entryOf(type);
        TargetTypeRegistry.Entry now = types.remove(type);
        if (closing) return;
        String fromBundle = gone == null ? null : gone.bundle();
        String why = now == null ? "unregistered" : "switching to " + now.bundle();
        for (List<MappedDevice> wave : topology.waves(topology.inOrder(true))) rebuilds.parkWave(wave, type, fromBundle, why);
        if (now != null && started) rebuilds.unparkAll();
    }

    public void addProvider(BlockDeviceProvider provider) { references.addProvider(provider); }

    public void removeProvider(BlockDeviceProvider provider) { references.removeProvider(provider); }

    public void addListener(DeviceEventListener listener) { hub.addService(listener); }

    public void removeListener(DeviceEventListener listener) { hub.removeService(listener); }

    // ================================================================== DeviceHost

    @Override
    public TargetType targetType(String name) { return types.get(name); }

    @Override
    public BlockDevice openReference(MappedDevice forDevice, String reference) {
        BlockDevice opened = references.open(forDevice, reference);
        return forDevice == null ? opened : forDevice.counters.counting(opened);
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        return references.adoptSocket(reference, socket, negotiated);
    }

    @Override
    public ScheduledExecutorService scheduler() { return scheduler; }

    @Override
    public Copier copier() { return copier; }

    @Override
    public void deliver(MappedDevice device, DeviceEvent event) { hub.deliver(device.id(), event); }

    @Override
    public long drainTimeoutMillis() { return config.drainTimeoutMillis(); }

    // ================================================================== verbs

    @Override
    public DeviceInfo create(String name, String table) {
        checkName(name);
        TableSpec spec = table == null || table.isBlank() ? null : TableSpec.parse(table);
        MappedDevice d = topology.create(name, id -> new MappedDevice(this, id, name));
        d.control.lock();
        try {
            Table built = null;
            if (spec != null) {
                try {
                    built = buildChecked(d, spec);
                } catch (RuntimeException e) {
                    undoCreate(d, null);
                    throw e;
                }
            }
            d.raise(new EventPayload.Created());
            if (built != null) {
                try {
                    d.installInactive(built);
                    d.resume();
                } catch (RuntimeException e) {
                    undoCreate(d, new EventPayload.Removed(false, 0, String.valueOf(e.getMessage())));
                    throw e;
                }
            }
        } finally {
            d.control.unlock();
        }
        persistence.saveOrReport("device '" + name + "' was created");
        return d.info();
    }

    private void undoCreate(MappedDevice d, EventPayload removed) {
        d.teardown("device '" + d.name() + "' was not created");
        topology.remove(d);
        if (removed != null) d.raise(removed);
        d.closeEvents();
    }

    @Override
    public DeviceInfo load(DeviceRef ref, String table) {
        TableSpec spec = TableSpec.parse(table);
        MappedDevice d = underControl(ref, x -> x.installInactive(buildChecked(x, spec)));
        persistence.saveOrReport("the table was loaded into the inactive slot of '" + d.name() + "'");
        return d.info();
    }

    /** Builds a table for d and re-checks, under the topology lock, that its dm: devices make no cycle. */
    private Table buildChecked(MappedDevice d, TableSpec spec) {
        Table t = Table.build(this, d, spec, null, false);
        rebuilds.checkCurrent(d, t);
        topology.checkBuilt(d, t);
        return t;
    }

    @Override
    public DeviceInfo clear(DeviceRef ref) {
        MappedDevice d = underControl(ref, MappedDevice::clear);
        persistence.saveOrReport("the inactive slot of '" + d.name() + "' was cleared");
        return d.info();
    }

    @Override
    public DeviceInfo suspend(DeviceRef ref, boolean noflush) {
        return underControl(ref, d -> d.suspend(noflush)).info();
    }

    @Override
    public DeviceInfo resume(DeviceRef ref) {
        MappedDevice d = underControl(ref, x -> {
            x.resume();
            rebuilds.forgetBoot(x.id());
        });
        persistence.saveOrReport("device '" + d.name() + "' was resumed");
        return d.info();
    }

    @Override
    public void remove(DeviceRef ref, boolean force) {
        MappedDevice d = underControl(ref, x -> {
            String refusal = x.removeRefusal();
            if (refusal != null && !force)
                throw new DmException(Errno.EBUSY, refusal + "; remove it with force to fail that I/O and remove it anyway");
            int failed = x.teardown("device '" + x.name() + "' was removed" + (force ? " by force" : "") + " while the request waited");
            topology.remove(x);
            x.raise(new EventPayload.Removed(force, failed, ""));
        });
        d.closeEvents();
        hub.forget(d.id());
        rebuilds.forgetBoot(d.id());
        persistence.saveOrReport("device '" + d.name() + "' was removed");
    }

    @Override
    public DeviceInfo rename(DeviceRef ref, String newName) {
        checkName(newName);
        String[] old = new String[1];
        MappedDevice d = underControl(ref, x -> {
            old[0] = x.name();
            if (old[0].equals(newName)) return;
            topology.rename(x, newName);
            x.raise(new EventPayload.Renamed(old[0], newName));
        });
        if (!old[0].equals(newName)) persistence.saveOrReport("device '" + old[0] + "' was renamed to '" + newName + "'");
        return d.info();
    }

    @Override
    public List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        for (MappedDevice d : topology.all()) if (!d.isRemoved()) out.add(d.info());
        out.sort(Comparator.comparing(DeviceInfo::name));
        return out;
    }

    @Override
    public DeviceInfo info(DeviceRef ref) { return resolve(ref).info(); }

    @Override
    public List<TargetStatus> table(DeviceRef ref, boolean inactive) { return resolve(ref).lines(inactive, StatusType.TABLE); }

    @Override
    public List<TargetStatus> status(DeviceRef ref) { return resolve(ref).lines(false, StatusType.INFO); }

    @Override
    public List<TargetStatus> status(DeviceRef ref, boolean inactive) {
        return resolve(ref).lines(inactive, StatusType.INFO);
    }

    @Override
    public List<String> deps(DeviceRef ref) { return resolve(ref).deps(); }

    public DeviceStats stats(DeviceRef ref) { return resolve(ref).stats(); }

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
        return hub.subscribe(ref == null ? null : resolve(ref).id(), listener);
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
        MappedDevice d = ref instanceof DeviceRef.Instance i ? topology.withId(i.id()) : topology.named(((DeviceRef.Named) ref).name());
        if (d == null || d.isRemoved()) throw new DmException(Errno.ENXIO, "no device " + describe(ref));
        return d;
    }

    /** Runs a verb on the device {@code ref} names, under its control lock (ENXIO when it was removed meanwhile); returns the device. */
    private MappedDevice underControl(DeviceRef ref, Consumer<MappedDevice> verb) {
        MappedDevice d = resolve(ref);
        d.control.lock();
        try {
            if (d.isRemoved()) throw new DmException(Errno.ENXIO, "no device " + describe(ref));
            verb.accept(d);
        } finally {
            d.control.unlock();
        }
        return d;
    }

    private static String describe(DeviceRef ref) {
        return ref instanceof DeviceRef.Instance i ? "#" + i.id()
                : "named '" + DeviceReferences.abbreviate(((DeviceRef.Named) ref).name()) + "'";
    }

    static void checkName(String name) {
        if (name == null || name.isEmpty()) throw new DmException(Errno.EINVAL, "a device needs a name");
        if (!NAME.matcher(name).matches())
            throw new DmException(Errno.EINVAL, "invalid device name '" + DeviceReferences.abbreviate(TableLine.escape(printable(name)))
                    + "': use 1 to 127 letters, digits and . _ + : @ = -, starting with a letter or digit");
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(Character.isISOControl(c) ? '?' : c);
        return sb.toString();
    }

    /** The home directory in use. */
    public Path home() { return config.home(); }

    /** What a live upgrade asks of the device set (BundleUpgrader, UpgradeQuiesce). */
    public UpgradeSupport upgrades() { return upgrades; }
}
