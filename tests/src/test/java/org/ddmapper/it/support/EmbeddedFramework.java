package org.ddmapper.it.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.util.tracker.ServiceTracker;

/**
 * A real Apache Felix framework, in this JVM, with the built bundles installed and started: what
 * end-to-end tests run against.
 *
 * <pre>
 * try (EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.core.typeWaitMillis", "2000").start()) {
 *     DeviceManager dm = fw.service(DeviceManager.class);
 *     ...
 * }
 * </pre>
 *
 * <ul>
 * <li>Bundles come from {@code tests/target/bundles} (the maven-dependency-plugin copies every
 *     bundle the tests module depends on there; add a dependency to tests/pom.xml to add one).
 * <li>The api bundle's packages ({@code org.ddmapper.api}, {@code .api.text}, {@code .spi}) are exported by the system bundle
 *     from the test class path and the api bundle is not installed, so a test can use a service
 *     such as DeviceManager directly and register its own TargetType or listener services.
 * <li>Each framework gets a fresh temp directory: {@code felix-cache/} (storage) and, unless
 *     {@link Builder#home} names one, {@code home/} ({@code ddmapper.home}). Defaults that keep
 *     parallel suites apart: {@code ddmapper.nbd=127.0.0.1:0}, control socket and NBD Unix
 *     socket unset or inside the home. tinylog writes to {@code HOME/log/ddmapper.log} ({@link #log()}).
 * <li>{@link #close()} stops the framework (bounded wait) and deletes the temp directory, keeping
 *     a home that the caller gave.
 * </ul>
 */
public final class EmbeddedFramework implements AutoCloseable {
    /** How long {@link #service(Class)} waits by default. */
    public static final long DEFAULT_TIMEOUT_MILLIS = 15_000;
    /** Fallback for {@link #sharedPackages()} when the api jar's manifest cannot be read. */
    static final String DEFAULT_SHARED_PACKAGES =
            "org.ddmapper.api;version=1.2.0,org.ddmapper.api.text;version=1.1.0,org.ddmapper.spi;version=1.2.0";

    private final Framework framework;
    private final Path root;
    private final Path home;
    private final boolean ownHome;
    private final Map<String, String> startFailures;

    private EmbeddedFramework(Framework framework, Path root, Path home, boolean ownHome, Map<String, String> startFailures) {
        this.framework = framework;
        this.root = root;
        this.home = home;
        this.ownHome = ownHome;
        this.startFailures = startFailures;
    }

    /** A framework with every built bundle and the default properties. */
    public static EmbeddedFramework start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings for one framework. */
    public static final class Builder {
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final List<String> excluded = new ArrayList<>();
        private final List<Path> extra = new ArrayList<>();
        private Path home;

        private Builder() { }

        /** A framework property (read by bundles with BundleContext.getProperty). */
        public Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /** Use this home (kept after close: pass the same one to a second framework to test a restart). */
        public Builder home(Path home) {
            this.home = home;
            return this;
        }

        /** Sets {@code ddmapper.etc}. */
        public Builder etc(Path etc) {
            return property("ddmapper.etc", etc.toAbsolutePath().toString());
        }

        /** Leaves out bundles whose symbolic name starts with this prefix (e.g. "org.ddmapper.nbd"). */
        public Builder without(String symbolicNamePrefix) {
            excluded.add(symbolicNamePrefix);
            return this;
        }

        /** Installs and starts this jar as well (after the built bundles). */
        public Builder withBundle(Path jar) {
            extra.add(jar);
            return this;
        }

        public EmbeddedFramework start() {
            try {
                return launch(this);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (BundleException e) {
                throw new IllegalStateException("framework did not start: " + e.getMessage(), e);
            }
        }
    }

    private static EmbeddedFramework launch(Builder b) throws IOException, BundleException {
        Path root = Files.createTempDirectory("ddmapper-it-");
        boolean ownHome = b.home == null;
        Path home = ownHome ? root.resolve("home") : b.home.toAbsolutePath();
        Files.createDirectories(home.resolve("log"));
        configureLogging(home);

        Map<String, String> props = new LinkedHashMap<>();
        props.put(Constants.FRAMEWORK_STORAGE, root.resolve("felix-cache").toString());
        props.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        props.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, sharedPackages());
        props.put("felix.log.level", "1");
        props.put("gosh.args", "--nointeractive --noshutdown");
        props.put("ddmapper.home", home.toString());
        props.put("ddmapper.nbd", "127.0.0.1:0");
        props.put("ddmapper.nbd.socket", "");
        props.put("ddmapper.control.socket", home.resolve("run").resolve("control.sock").toString());
        props.putAll(b.properties);

        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no OSGi FrameworkFactory on the class path"));
        Framework framework = factory.newFramework(props);
        framework.init();
        framework.start();
        Map<String, String> failures = new LinkedHashMap<>();
        EmbeddedFramework fw = new EmbeddedFramework(framework, root, home, ownHome, failures);
        try {
            BundleContext ctx = framework.getBundleContext();
            List<Bundle> installed = new ArrayList<>();
            List<Path> jars = new ArrayList<>(builtBundles());
            jars.addAll(b.extra);
            for (Path jar : jars) {
                String bsn = symbolicName(jar);
                if (bsn == null || b.excluded.stream().anyMatch(bsn::startsWith)) continue;
                try (InputStream in = Files.newInputStream(jar)) {
                    installed.add(ctx.installBundle(jar.toUri().toString(), in));
                }
            }
            for (Bundle bundle : installed) {
                if (bundle.getHeaders().get(Constants.FRAGMENT_HOST) != null) continue;
                try {
                    bundle.start();
                } catch (BundleException e) {
                    failures.put(bundle.getSymbolicName(), e.getMessage());
                }
            }
        } catch (IOException | BundleException | RuntimeException e) {
            fw.close();
            throw e;
        }
        return fw;
    }

    /**
     * The packages the system bundle exports from the class path: exactly the api bundle's
     * Export-Package (read from the api jar on the test class path), so a package added to the
     * api is shared without touching this harness.
     */
    public static String sharedPackages() {
        try {
            var source = org.ddmapper.api.DeviceManager.class.getProtectionDomain().getCodeSource();
            Path location = Path.of(source.getLocation().toURI());
            java.util.jar.Manifest mf;
            if (Files.isDirectory(location)) {
                try (InputStream in = Files.newInputStream(location.resolve("META-INF/MANIFEST.MF"))) {
                    mf = new java.util.jar.Manifest(in);
                }
            } else {
                try (JarFile jf = new JarFile(location.toFile())) {
                    mf = jf.getManifest();
                }
            }
            String exports = mf == null ? null : mf.getMainAttributes().getValue(Constants.EXPORT_PACKAGE);
            return exports == null || exports.isBlank() ? DEFAULT_SHARED_PACKAGES : exports;
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            return DEFAULT_SHARED_PACKAGES;
        }
    }

    /** tinylog (inside the framework) reads these system properties when its bundle starts. */
    private static void configureLogging(Path home) {
        System.setProperty("tinylog.writer", "file");
        System.setProperty("tinylog.writer.file", home.resolve("log").resolve("ddmapper.log").toString());
        System.setProperty("tinylog.writer.append", "true");
        System.setProperty("tinylog.writer.buffered", "false");
        System.setProperty("tinylog.writer.level", System.getProperty("ddmapper.it.loglevel", "info"));
        System.setProperty("tinylog.writer.format", "{date: HH:mm:ss.SSS} {level} [{thread}] {class-name}: {message}");
        System.setProperty("tinylog.writingthread", "false");
    }

    /** The directory the built bundles are copied to ({@code tests/target/bundles}). */
    public static Path bundlesDir() {
        String configured = System.getProperty("ddmapper.it.bundles");
        return configured != null ? Path.of(configured) : Path.of("target", "bundles").toAbsolutePath();
    }

    /** Every bundle jar in {@link #bundlesDir()}, sorted by file name. */
    public static List<Path> builtBundles() throws IOException {
        Path dir = bundlesDir();
        if (!Files.isDirectory(dir))
            throw new IllegalStateException(dir + " is missing: build with mvn -o -pl tests -am verify (the dependency plugin fills it)");
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            for (Path p : ds) out.add(p);
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    /** The jar in {@link #bundlesDir()} whose Bundle-SymbolicName is {@code symbolicName}. */
    public static Path bundleJar(String symbolicName) throws IOException {
        for (Path jar : builtBundles()) if (symbolicName.equals(symbolicName(jar))) return jar;
        throw new IllegalStateException("no bundle " + symbolicName + " in " + bundlesDir());
    }

    private static String symbolicName(Path jar) throws IOException {
        try (JarFile jf = new JarFile(jar.toFile())) {
            var mf = jf.getManifest();
            String bsn = mf == null ? null : mf.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            return bsn == null ? null : bsn.split(";")[0].trim();
        }
    }

    public BundleContext context() { return framework.getBundleContext(); }

    public Framework framework() { return framework; }

    /** The ddmapper home of this framework. */
    public Path home() { return home; }

    /** Bundles that failed to start, by symbolic name, with the reason. */
    public Map<String, String> startFailures() { return Map.copyOf(startFailures); }

    /** The log written so far by the bundles (tinylog, HOME/log/ddmapper.log). */
    public String log() {
        try {
            Path file = home.resolve("log").resolve("ddmapper.log");
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits (up to {@link #DEFAULT_TIMEOUT_MILLIS}) for a service of this type. */
    public <T> T service(Class<T> type) {
        return service(type, null, DEFAULT_TIMEOUT_MILLIS);
    }

    public <T> T service(Class<T> type, long timeoutMillis) {
        return service(type, null, timeoutMillis);
    }

    /** Waits for a service of this type matching an LDAP filter (e.g. "(kind=nbd)"); throws naming what was missing. */
    public <T> T service(Class<T> type, String filter, long timeoutMillis) {
        BundleContext ctx = context();
        String f = "(" + Constants.OBJECTCLASS + "=" + type.getName() + ")";
        if (filter != null && !filter.isBlank()) f = "(&" + f + filter + ")";
        Filter parsed;
        try {
            parsed = ctx.createFilter(f);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad filter " + f + ": " + e.getMessage());
        }
        ServiceTracker<T, T> tracker = new ServiceTracker<>(ctx, parsed, null);
        tracker.open(true);
        try {
            T service = tracker.waitForService(timeoutMillis);
            if (service == null)
                throw new IllegalStateException("no service " + f + " within " + timeoutMillis + " ms"
                        + (startFailures.isEmpty() ? "" : "; bundles that failed to start: " + startFailures));
            if (!type.isInstance(service))
                throw new IllegalStateException("service " + f + " is of another class loader's " + type.getName()
                        + " (is its package exported twice?)");
            return type.cast(service);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for " + f);
        } finally {
            tracker.close();
        }
    }

    /** The installed bundle with this symbolic name (the highest version if several). */
    public Bundle bundle(String symbolicName) {
        Bundle found = null;
        for (Bundle b : context().getBundles()) {
            if (symbolicName.equals(b.getSymbolicName()) && (found == null || b.getVersion().compareTo(found.getVersion()) > 0)) found = b;
        }
        if (found == null) throw new IllegalStateException("no bundle " + symbolicName + " is installed");
        return found;
    }

    /** Installs and starts one more bundle. */
    public Bundle install(Path jar) throws IOException, BundleException {
        try (InputStream in = Files.newInputStream(jar)) {
            Bundle b = context().installBundle(jar.toUri().toString() + "#" + System.nanoTime(), in);
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) b.start();
            return b;
        }
    }

    /**
     * Updates a bundle from a jar (the way Felix's {@code update} command does) and refreshes
     * packages (refreshBundles(null), see OSGI-NOTES), returning once the refresh finished.
     */
    public void update(Bundle bundle, Path jar) throws IOException, BundleException, InterruptedException {
        try (InputStream in = Files.newInputStream(jar)) {
            bundle.update(in);
        }
        CountDownLatch refreshed = new CountDownLatch(1);
        framework.adapt(FrameworkWiring.class).refreshBundles(null, e -> {
            if (e.getType() == FrameworkEvent.PACKAGES_REFRESHED || e.getType() == FrameworkEvent.ERROR) refreshed.countDown();
        });
        if (!refreshed.await(DEFAULT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS))
            throw new IllegalStateException("package refresh after updating " + bundle.getSymbolicName() + " did not finish");
    }

    /** Stops the framework (waiting up to 30 s). */
    public void stop() {
        try {
            if ((framework.getState() & (Bundle.STARTING | Bundle.ACTIVE | Bundle.STOPPING)) != 0) {
                framework.stop();
                FrameworkEvent e = framework.waitForStop(30_000);
                if (e.getType() == FrameworkEvent.WAIT_TIMEDOUT) throw new IllegalStateException("framework did not stop within 30 s");
            }
        } catch (BundleException e) {
            throw new IllegalStateException("framework did not stop: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the framework and deletes its temp directory (a caller-given home is kept). */
    @Override
    public void close() {
        try {
            stop();
        } finally {
            deleteTree(root);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: a temp directory left behind is harmless
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
