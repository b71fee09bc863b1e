package org.ddmapper.targets.multipath;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.targets.multipath.internal.MapRegistry;
import org.ddmapper.targets.multipath.internal.monitor.MonitorConfig;
import org.ddmapper.targets.multipath.internal.monitor.MonitorEngine;
import org.ddmapper.targets.multipath.internal.monitor.MultipathConf;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.tinylog.Logger;

/**
 * The path monitor (multipathd inside the runtime): collects {@link PathChecker} services as
 * they come and go, reads {@code multipath.conf} from the {@code ddmapper.etc} directory (and
 * again when the file changes), and runs {@link MonitorEngine} on a thread of its own.
 */
@Component(immediate = true, service = {})
public class PathMonitor {
    private static final long CONFIG_RECHECK_MILLIS = 2_000;

    private final Map<String, PathChecker> checkers = new ConcurrentHashMap<>();
    private final Object signal = new Object();
    private volatile boolean running;
    private MonitorEngine engine;
    private Thread thread;
    private ThreadPoolExecutor reconnects;
    private Path confFile;
    private long confStamp = Long.MIN_VALUE;

    @Reference
    MapRegistry registry;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addChecker(PathChecker checker) {
        checkers.put(checker.name(), checker);
        Logger.info("path monitor: checker {} available", checker.name());
    }

    void removeChecker(PathChecker checker) {
        checkers.remove(checker.name(), checker);
    }

    @Activate
    void activate(BundleContext context) {
        String etc = context.getProperty("ddmapper.etc");
        confFile = etc == null || etc.isBlank() ? null : Paths.get(etc, "multipath.conf");
        AtomicInteger n = new AtomicInteger();
        reconnects = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "ddmapper-path-reconnect-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        reconnects.allowCoreThreadTimeOut(true);
        engine = new MonitorEngine(System::currentTimeMillis, loadConfig(), checkers::get, reconnects, this::wake);
        running = true;
        thread = new Thread(this::loop, "ddmapper-path-monitor");
        thread.setDaemon(true);
        thread.start();
        registry.watch(engine);
    }

    @Deactivate
    void deactivate() {
        registry.unwatch(engine);
        running = false;
        wake();
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reconnects.shutdownNow();
    }

    private void loop() {
        long nextConfigCheck = 0;
        while (running) {
            long now = System.currentTimeMillis();
            if (now >= nextConfigCheck) {
                nextConfigCheck = now + CONFIG_RECHECK_MILLIS;
                MonitorConfig changed = reloadIfChanged();
                if (changed != null) engine.reconfigure(changed);
            }
            long next;
            try {
                next = engine.runOnce();
            } catch (RuntimeException e) {
                Logger.error(e, "path monitor: loop failed");
                next = now + 1000;
            }
            long waitMillis = Math.max(1, Math.min(next, nextConfigCheck) - System.currentTimeMillis());
            synchronized (signal) {
                if (running && !engine.hasInput()) {
                    try {
                        signal.wait(waitMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    private void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private MonitorConfig loadConfig() {
        MonitorConfig c = reloadIfChanged();
        return c != null ? c : MonitorConfig.DEFAULTS;
    }

    /** The configuration when multipath.conf appeared, changed or vanished since the last look; else null. */
    private MonitorConfig reloadIfChanged() {
        if (confFile == null) return null;
        long stamp;
        try {
            stamp = Files.getLastModifiedTime(confFile).toMillis() ^ Files.size(confFile);
        } catch (NoSuchFileException e) {
            stamp = -1;
        } catch (IOException e) {
            Logger.warn("path monitor: cannot read {}: {}", confFile, e.getMessage());
            return null;
        }
        if (stamp == confStamp) return null;
        confStamp = stamp;
        if (stamp == -1) return MonitorConfig.DEFAULTS;
        try {
            MonitorConfig c = MultipathConf.parse(Files.readString(confFile, StandardCharsets.UTF_8), confFile.toString());
            c.problems().forEach(p -> Logger.warn("{}: {}", confFile, p));
            return c;
        } catch (IOException e) {
            Logger.warn("path monitor: cannot read {}: {}", confFile, e.getMessage());
            return null;
        }
    }
}
