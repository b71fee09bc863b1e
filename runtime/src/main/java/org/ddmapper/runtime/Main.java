package org.ddmapper.runtime;

import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.wiring.BundleRevision;

/**
 * {@code bin/ddmapper}: boots the appliance.
 * <ol>
 *   <li>Read the command line ({@link Options}).</li>
 *   <li>Lay out the home ({@link Home}) and create the demo's backing file.</li>
 *   <li>Check that every file of etc/ can be read, read etc/config.properties (the framework's
 *       properties) and check etc/tinylog.properties ({@link EtcFiles}, {@link ConfigFile}).</li>
 *   <li>Start the framework (Apache Felix, found through ServiceLoader) with its storage in the home.</li>
 *   <li>Install every jar of bundle/ (or the home's bundle store's newer version of it, {@link BootBundles}),
 *       check etc/multipath.conf with the multipath bundle's parser, and start them all (a stored version
 *       that does not start is set aside and the one below it starts); a Gogo shell that will own the
 *       terminal waits. The front ends (NBD server, control socket) run at start level 2, above
 *       everything else, so that a stop closes them first: they answer their clients while the core and
 *       the targets still serve.</li>
 *   <li>Wait for the NBD and control endpoints ({@link Endpoints}) and for the boot devices to serve
 *       ({@link BootDevices}), report what was set aside, run the --exec commands ({@link GogoCommands})
 *       and print the ready line.</li>
 *   <li>Start the console last (when stdin is a terminal and --no-console is not given); from then on
 *       Ctrl-C interrupts the console's command ({@link ConsoleJobs}) instead of stopping.</li>
 *   <li>Run until SIGTERM/SIGINT ({@link Termination}) or the console's exit; the stop itself is bounded
 *       by {@code ddmapper.stop.timeout.seconds}.</li>
 * </ol>
 * A failure prints one line {@code ddmapper: WHAT} on stderr and exits non-zero ({@link LaunchFailure});
 * the framework is stopped in {@code finally} in every case (its threads would keep the JVM alive).
 */
public final class Main {

    static final String READY = "ddmapper ready: ";
    static final String GOGO_SHELL = "org.apache.felix.gogo.shell";
    /** Bundles that serve clients: started after, and stopped before, the devices they serve (start level 2). */
    static final List<String> FRONT_ENDS = List.of("org.ddmapper.nbd", "org.ddmapper.control");
    /** The bundles of the web administration, left installed but not started with {@code --http none}. */
    static final List<String> WEB = List.of("org.apache.felix.http.jetty", "org.ddmapper.web");
    static final int FRONT_END_START_LEVEL = 2;
    static final String READY_TIMEOUT_KEY = "ddmapper.ready.timeout.seconds";
    static final String STOP_TIMEOUT_KEY = "ddmapper.stop.timeout.seconds";
    /** Set by bin/ddmapper: whether stdin is a terminal (test -t 0), which decides the console. */
    static final String STDIN_TTY_PROPERTY = "ddmapper.stdin.tty";
    private static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(60);
    /** Below the systemd unit's TimeoutStopSec (45 s), so that the launcher, not SIGKILL, ends a slow stop. */
    static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(40);
    private static final long POLL_MILLIS = 200;

    private final PrintStream out;
    private final PrintStream err;
    private final Termination termination = new Termination();
    private final BootTrace trace;
    private Framework framework;
    private Duration stopTimeout = DEFAULT_STOP_TIMEOUT;
    /** System.nanoTime() when the framework was seen stopping without a signal (the console's end, stop 0). */
    private long stopSeenAt = -1;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        this.trace = BootTrace.of(err);
    }

    public static void main(String[] args) {
        int status = new Main(System.out, System.err).run(List.of(args));
        System.out.flush();
        System.exit(status);
    }

    int run(List<String> args) {
        termination.install();
        int status = LaunchFailure.FAILED;
        try {
            status = runUntilStopped(args);
        } finally {
            if (framework != null && !stop(framework) && status == 0) {
                status = LaunchFailure.FAILED;
            }
        }
        return status;
    }

    private int runUntilStopped(List<String> args) {
        try {
            trace.step("launcher");
            // 1. The command line.
            Path distribution = distribution();
            Options options = Options.parse(args, distribution, Path.of("").toAbsolutePath(), System.getenv());
            if (options.help()) {
                out.print(Options.USAGE);
                return 0;
            }

            // 2. The home, and the demo table's backing file.
            Home home = new Home(options.home());
            home.create();
            home.lock();
            if (Files.exists(options.etc().resolve("tables").resolve("demo.table"))) {
                home.createDemoImage();
            }

            // 3. Configuration. tinylog reads its file itself, inside the framework; check it here so
            //    that a broken one stops the boot with its line instead of silently logging nowhere.
            EtcFiles.checkReadable(options.etc());
            ConfigFile configFile = ConfigFile.read(options.etc().resolve("config.properties"));
            Map<String, String> config = configFile.expand(Map.of(
                    "ddmapper.home", home.root().toString(),
                    "ddmapper.etc", options.etc().toString(),
                    "ddmapper.dist", distribution.toString()));
            Duration readyTimeout = seconds(configFile, config, READY_TIMEOUT_KEY, DEFAULT_READY_TIMEOUT);
            stopTimeout = seconds(configFile, config, STOP_TIMEOUT_KEY, DEFAULT_STOP_TIMEOUT);
            Path tinylog = options.etc().resolve("tinylog.properties");
            ConfigFile.read(tinylog);
            System.setProperty("tinylog.configuration", tinylog.toString());
            System.setProperty("ddmapper.home", home.root().toString());
            if (System.getProperty("jna.tmpdir") == null) {
                System.setProperty("jna.tmpdir", home.cache().resolve("jna").toString());
            }

            // 4. The framework.
            boolean consoleOnTerminal = options.console() && stdinIsTerminal();
            framework = newFramework(frameworkProperties(config, options, home, consoleOnTerminal));
            framework.init();
            termination.attach(framework);
            framework.start();
            BundleContext context = framework.getBundleContext();
            trace.step("framework started");

            // 5. Every bundle of bundle/, or the bundle store's newer version of it. A Gogo shell that owns the terminal waits.
            BootBundles boot = new BootBundles(context, StoredVersions.read(home.bundles(), err), err);
            List<Bundle> bundles = boot.install(distribution.resolve("bundle"));
            trace.step("bundles installed");
            EtcFiles.checkMultipathConf(options.etc(), bundles, err);
            Bundle console = null;
            for (Bundle bundle : bundles) {
                if (consoleOnTerminal && GOGO_SHELL.equals(bundle.getSymbolicName())) {
                    console = bundle;
                } else if (options.http().equals(Options.NONE) && WEB.contains(bundle.getSymbolicName())) {
                    continue;
                } else if (!isFragment(bundle) && !termination.requested()) {
                    if (FRONT_ENDS.contains(bundle.getSymbolicName())) {
                        bundle.adapt(BundleStartLevel.class).setStartLevel(FRONT_END_START_LEVEL);
                    }
                    boot.start(bundle);
                    trace.step("started " + bundle.getSymbolicName());
                }
            }

            trace.step("bundles started");
            // 6. Endpoints, boot devices, --exec, the ready line.
            Map<String, String> addresses = Endpoints.await(context, Endpoints.expected(context, options),
                    readyTimeout, termination::requested);
            if (termination.requested()) {
                return 0;
            }
            trace.step("endpoints listen");
            BootDevices.await(context, readyTimeout, termination::requested, err);
            trace.step("boot devices serve");
            if (termination.requested()) {
                return 0;
            }
            boot.report();
            GogoCommands.run(context, options.exec(), out, err, readyTimeout);
            out.println(READY + "nbd=" + addresses.getOrDefault("nbd", Endpoints.NONE)
                    + " control=" + addresses.getOrDefault("control", Endpoints.NONE)
                    + (addresses.containsKey("nbd-unix") ? " nbd-unix=" + addresses.get("nbd-unix") : "") + boot.readyField());
            out.flush();
            trace.step("ready");

            // 7. The console, last. It owns the terminal: Ctrl-C interrupts its command from now on.
            if (console != null) {
                try {
                    termination.interruptInstead(ConsoleJobs.watch(context)::interrupt);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    err.println("ddmapper: warning: Ctrl-C stops the appliance (cannot follow the console's commands: "
                            + Describe.chain(e) + ")");
                }
                start(console);
            }

            // 8. Run until a stop begins (a signal, the console's end, stop 0); stop() bounds the rest.
            while (!termination.requested()) {
                FrameworkEvent event = framework.waitForStop(POLL_MILLIS);
                if (event.getType() == FrameworkEvent.ERROR) {
                    throw LaunchFailure.failed("the framework stopped on an error: " + Describe.chain(event.getThrowable()));
                }
                if (event.getType() != FrameworkEvent.WAIT_TIMEDOUT) {
                    break;
                }
                if (framework.getState() == Bundle.STOPPING) {
                    stopSeenAt = System.nanoTime();
                    break;
                }
            }
            return 0;
        } catch (LaunchFailure failure) {
            if (termination.requested()) {
                return 0; // stopped by a signal during the boot: what failed is the interrupted boot
            }
            err.println("ddmapper: " + failure.getMessage());
            return failure.exitStatus();
        } catch (Exception | LinkageError e) {
            if (termination.requested()) {
                return 0;
            }
            err.println("ddmapper: unexpected failure: " + Describe.chain(e));
            e.printStackTrace(err);
            return LaunchFailure.FAILED;
        }
    }

    /** The distribution directory: set by bin/ddmapper, else the parent of the launcher jar's lib/. */
    static Path distribution() throws LaunchFailure {
        String property = System.getProperty("ddmapper.dist");
        if (property != null) {
            return Path.of(property).toAbsolutePath().normalize();
        }
        try {
            Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            throw LaunchFailure.failed("cannot tell where the distribution is; run bin/ddmapper");
        }
    }

    /** Whether stdin is a terminal: bin/ddmapper tells (test -t 0); without it, the JVM's guess (stdin and stdout). */
    static boolean stdinIsTerminal() {
        String told = System.getProperty(STDIN_TTY_PROPERTY);
        return told != null ? Boolean.parseBoolean(told) : System.console() != null;
    }

    private static Duration seconds(ConfigFile file, Map<String, String> config, String key, Duration absent)
            throws LaunchFailure {
        String value = config.get(key);
        if (value == null) {
            return absent;
        }
        try {
            long seconds = Long.parseLong(value);
            if (seconds > 0) {
                return Duration.ofSeconds(seconds);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        int line = file.entries().stream().filter(e -> e.key().equals(key)).findFirst().orElseThrow().line();
        throw LaunchFailure.config(file.file() + ":" + line + ": " + key
                + ": expected a positive number of seconds, got '" + value + "'");
    }

    private Map<String, Object> frameworkProperties(Map<String, String> config, Options options, Home home,
                                                    boolean console) {
        Map<String, Object> properties = new HashMap<>(config);
        properties.putIfAbsent(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        properties.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, Integer.toString(FRONT_END_START_LEVEL));
        properties.put(Constants.FRAMEWORK_STORAGE, home.cache().resolve("felix").toString());
        properties.put("ddmapper.home", home.root().toString());
        properties.put("ddmapper.etc", options.etc().toString());
        properties.put("ddmapper.nbd", options.nbd());
        properties.put("ddmapper.nbd.socket", options.nbdSocket());
        properties.put("ddmapper.http", options.http());
        if (!options.http().equals(Options.NONE)) {
            properties.put("org.apache.felix.http.host", Options.host(options.http()));
            properties.put("org.osgi.service.http.port", Options.port(options.http()));
        }
        // Jetty logs through slf4j-simple to stderr: warnings and errors only, as tinylog's console writer
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        properties.put("ddmapper.control.socket", options.controlSocket().toString());
        // Without a console: no prompt on stdin, and the end of stdin does not stop the framework.
        properties.put("gosh.args", console ? "" : "--nointeractive --noshutdown");
        properties.put("felix.log.logger", new FrameworkLog(err));
        return properties;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Framework newFramework(Map<String, Object> properties) throws LaunchFailure {
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class).findFirst()
                .orElseThrow(() -> LaunchFailure.failed("no OSGi framework on the class path (lib/)"));
        // The interface declares String values; Felix also takes objects (its logger) from the map.
        return factory.newFramework((Map) properties);
    }

    private static void start(Bundle bundle) throws LaunchFailure {
        try {
            bundle.start();
        } catch (BundleException e) {
            throw LaunchFailure.failed("bundle " + bundle.getSymbolicName() + " (" + BootBundles.fileName(bundle)
                    + ") does not start: " + Describe.chain(e));
        }
    }

    private static boolean isFragment(Bundle bundle) {
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        return revision != null && (revision.getTypes() & BundleRevision.TYPE_FRAGMENT) != 0;
    }

    /**
     * Stops the framework and waits for it, at most {@code ddmapper.stop.timeout.seconds} from when the
     * stop began (the signal, or the console's end); then exits without it, naming the bundles still
     * stopping. False when the stop was not clean.
     */
    private boolean stop(Framework framework) {
        long began = termination.requested() ? termination.requestedAt() : stopSeenAt >= 0 ? stopSeenAt : System.nanoTime();
        try {
            framework.stop();
            long left = stopTimeout.toMillis() - (System.nanoTime() - began) / 1_000_000;
            FrameworkEvent event = framework.waitForStop(Math.max(1, left));
            if (event.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                err.println("ddmapper: the stop took longer than " + stopTimeout.toSeconds() + " s ("
                        + STOP_TIMEOUT_KEY + "); exiting without waiting for " + stillRunning(framework));
                return false;
            }
            if (event.getType() == FrameworkEvent.ERROR) {
                err.println("ddmapper: the framework stopped on an error: " + Describe.chain(event.getThrowable()));
                return false;
            }
            return true;
        } catch (BundleException | InterruptedException | RuntimeException e) {
            err.println("ddmapper: stopping the framework: " + Describe.chain(e));
            return false;
        }
    }

    /** "B (stopping), C, D (not stopped yet)": what a cut-short stop leaves behind. */
    private static String stillRunning(Framework framework) {
        List<String> stopping = new ArrayList<>();
        List<String> active = new ArrayList<>();
        try {
            for (Bundle bundle : framework.getBundleContext().getBundles()) {
                if (bundle.getBundleId() == 0) {
                    continue;
                }
                if (bundle.getState() == Bundle.STOPPING) {
                    stopping.add(bundle.getSymbolicName());
                } else if (bundle.getState() == Bundle.ACTIVE || bundle.getState() == Bundle.STARTING) {
                    active.add(bundle.getSymbolicName());
                }
            }
        } catch (RuntimeException e) {
            return "the framework (" + Describe.chain(e) + ")";
        }
        String text = String.join(", ", stopping) + (stopping.isEmpty() ? "" : " (stopping)");
        if (!active.isEmpty()) {
            text += (text.isEmpty() ? "" : "; ") + String.join(", ", active) + " (not stopped yet)";
        }
        return text.isEmpty() ? "the framework" : text;
    }
}
