package org.ddmapper.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.ddmapper.api.BundleUpgrades;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Message;
import org.ddmapper.api.StoredBundle;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.api.UpgradeReport;
import org.ddmapper.core.internal.CoreConfig;
import org.ddmapper.core.internal.DeviceCounters;
import org.ddmapper.core.internal.Devices;
import org.ddmapper.core.internal.upgrade.BundleStore;
import org.ddmapper.core.internal.upgrade.BundleUpgrader;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.TargetType;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.tinylog.Logger;

/**
 * The DeviceManager service: collects target types, block-device providers and event listeners
 * (whiteboard, dynamic) and hands them, with the framework properties, to {@link Devices}, which
 * owns every mapped device.
 */
@Component(service = {DeviceManager.class, BundleUpgrades.class}, immediate = true)
public final class DeviceManagerImpl implements DeviceManager, BundleUpgrades {
    private final Devices devices = new Devices();
    private volatile BundleUpgrader upgrader;

    @Activate
    void activate(BundleContext context) {
        DeviceCounters.configure(context.getProperty(DeviceCounters.PROPERTY));
        devices.start(config(context));
        BundleStore store = new BundleStore(devices.home().resolve(BundleStore.DIR), Clock.systemUTC());
        upgrader = new BundleUpgrader(context, devices.upgrades(), store, number(context, BundleUpgrader.TIMEOUT, BundleUpgrader.DEFAULT_TIMEOUT_MILLIS));
        Logger.info("device-mapper core started, home {}", devices.home());
    }

    @Deactivate
    void deactivate() {
        devices.close();
    }

    private static CoreConfig config(BundleContext context) {
        String homeProp = context.getProperty(CoreConfig.HOME);
        Path home;
        if (homeProp == null || homeProp.isBlank()) {
            try {
                home = Files.createTempDirectory("ddmapper-home-");
            } catch (IOException e) {
                throw new IllegalStateException("cannot create a temporary home: " + e.getMessage(), e);
            }
            Logger.warn("framework property {} is not set; keeping device state in {}, which does not survive", CoreConfig.HOME, home);
        } else {
            home = Path.of(homeProp).toAbsolutePath();
        }
        String etcProp = context.getProperty(CoreConfig.ETC);
        Path etc = etcProp == null || etcProp.isBlank() ? null : Path.of(etcProp).toAbsolutePath();
        int ioThreads = (int) number(context, CoreConfig.IO_THREADS, CoreConfig.DEFAULT_IO_THREADS);
        long drain = number(context, CoreConfig.DRAIN_TIMEOUT, CoreConfig.DEFAULT_DRAIN_TIMEOUT_MILLIS);
        long typeWait = number(context, CoreConfig.TYPE_WAIT, CoreConfig.DEFAULT_TYPE_WAIT_MILLIS);
        return new CoreConfig(home, etc, Math.max(1, ioThreads), drain, typeWait, true);
    }

    private static long number(BundleContext context, String key, long fallback) {
        String v = context.getProperty(key);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            Logger.warn("framework property {}='{}' is not a number; using {}", key, v, fallback);
            return fallback;
        }
    }

    // ---------------------------------------------------------------- whiteboard

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addTargetType(TargetType type, ServiceReference<TargetType> ref) {
        devices.addTargetType(type, ref.getBundle() == null ? "?" : ref.getBundle().getSymbolicName() + " " + ref.getBundle().getVersion(),
                (Long) ref.getProperty(Constants.SERVICE_ID));
    }

    void removeTargetType(TargetType type) {
        devices.removeTargetType(type);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addProvider(BlockDeviceProvider provider) {
        devices.addProvider(provider);
    }

    void removeProvider(BlockDeviceProvider provider) {
        devices.removeProvider(provider);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(DeviceEventListener listener) {
        devices.addListener(listener);
    }

    void removeListener(DeviceEventListener listener) {
        devices.removeListener(listener);
    }

    // ---------------------------------------------------------------- verbs

    @Override public DeviceInfo create(String name, String table) { return devices.create(name, table); }

    @Override public DeviceInfo load(DeviceRef device, String table) { return devices.load(device, table); }

    @Override public DeviceInfo clear(DeviceRef device) { return devices.clear(device); }

    @Override public DeviceInfo suspend(DeviceRef device, boolean noflush) { return devices.suspend(device, noflush); }

    @Override public DeviceInfo resume(DeviceRef device) { return devices.resume(device); }

    @Override public void remove(DeviceRef device, boolean force) { devices.remove(device, force); }

    @Override public DeviceInfo rename(DeviceRef device, String newName) { return devices.rename(device, newName); }

    @Override public List<DeviceInfo> list() { return devices.list(); }

    @Override public DeviceInfo info(DeviceRef device) { return devices.info(device); }

    @Override public List<TargetStatus> table(DeviceRef device, boolean inactive) { return devices.table(device, inactive); }

    @Override public List<TargetStatus> status(DeviceRef device) { return devices.status(device); }

    @Override public List<TargetStatus> status(DeviceRef device, boolean inactive) { return devices.status(device, inactive); }

    @Override public List<String> deps(DeviceRef device) { return devices.deps(device); }

    @Override public DeviceStats stats(DeviceRef device) { return devices.stats(device); }

    @Override public String message(DeviceRef device, TargetRef target, Message message) { return devices.message(device, target, message); }

    @Override
    public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) throws InterruptedException {
        return devices.waitEvent(device, afterEventNr, timeoutMillis);
    }

    @Override public List<DeviceEvent> events(DeviceRef device, long afterEventNr) { return devices.events(device, afterEventNr); }

    @Override public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) { return devices.subscribe(device, listener); }

    @Override public List<TargetTypeInfo> targets() { return devices.targets(); }

    @Override public OpenDevice open(DeviceRef device) { return devices.open(device); }

    @Override public UpgradeReport upgrade(String symbolicName, Path jar) { return upgrader.upgrade(symbolicName, jar); }

    @Override public UpgradeReport revert(String symbolicName) { return upgrader.revert(symbolicName); }

    @Override public List<StoredBundle> stored() { return upgrader.stored(); }

    @Override public void setAsideAtBoot(String symbolicName, String version, String reason) {
        upgrader.setAsideAtBoot(symbolicName, version, reason);
    }
}
