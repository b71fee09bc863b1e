package org.ddmapper.it.support;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The real appliance in a child process: the distribution's {@code bin/ddmapper} (build it with
 * {@code mvn package}; the tests module runs after the runtime module), booted with
 *
 * <pre>
 * bin/ddmapper --no-console --home HOME --nbd 127.0.0.1:0 --http none --socket HOME/run/control.sock [extra args]
 * </pre>
 *
 * and waited for (bounded) until it prints its ready line. Extra arguments come last, so they win
 * (e.g. {@code "--nbd", "none"}, or {@code "--http", "127.0.0.1:PORT"} for a test of the web
 * administration: without it no test's appliance starts Jetty or takes a fixed port).
 *
 * <pre>
 * try (Appliance appliance = Appliance.start()) {
 *     String uri = appliance.nbdUri("demo");          // nbd://127.0.0.1:PORT/demo
 *     Appliance.Exit ls = appliance.ddsetup("ls");    // bin/ddsetup --socket HOME/run/control.sock ls
 *     appliance.stop();                               // SIGTERM; asserts exit 0 and no process left
 * }
 * </pre>
 *
 * {@link #close()} kills the process by pid if it is still alive and deletes a home that
 * {@link #start(String...)} made (set {@code -Dddmapper.it.keep=true} to keep it). For an appliance
 * that must fail to boot, use {@link #run(Path, Duration, String...)}: it runs to the exit and returns
 * the status and output.
 */
public final class Appliance implements AutoCloseable {

    /** How long {@link #start} waits for the ready line. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /**
     * JVM options of a test appliance unless the environment sets DDMAPPER_JAVA_OPTS: the C1 compiler
     * only and the serial collector boot in about half the time (2.5 s instead of 5 s on two busy
     * cores) and leave the cores to the other suites; behaviour is the same.
     */
    public static final String TEST_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
    /** How long {@link #stop()} waits for the exit after SIGTERM. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    /**
     * {@code ddmapper ready: nbd=ADDR control=PATH [nbd-unix=PATH] [set-aside=BUNDLE@VERSION,…]}; "none" for an
     * endpoint not present.
     */
    public static final Pattern READY_LINE =
            Pattern.compile("^ddmapper ready: nbd=(\\S+) control=(\\S+)(?: nbd-unix=(\\S+))?(?: set-aside=(\\S+))?$", Pattern.MULTILINE);

    /** How a process ended: its exit status and everything it printed. */
    public record Exit(int code, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout:\n" + stdout + "--- stderr:\n" + stderr;
        }
    }

    private final Process process;
    private final Path home;
    private final boolean ownHome;
    private final Output stdout;
    private final Output stderr;
    private final Matcher ready;

    private Appliance(Process process, Path home, boolean ownHome, Output stdout, Output stderr, Matcher ready) {
        this.process = process;
        this.home = home;
        this.ownHome = ownHome;
        this.stdout = stdout;
        this.stderr = stderr;
        this.ready = ready;
    }

    /** The distribution: {@code -Dddmapper.dist} (set by tests/pom.xml), else runtime/target/ddmapper. */
    public static Path distribution() {
        String property = System.getProperty("ddmapper.dist");
        Path dist = property != null ? Path.of(property)
                : Path.of(System.getProperty("user.dir")).resolve("../runtime/target/ddmapper");
        dist = dist.toAbsolutePath().normalize();
        if (!Files.isExecutable(dist.resolve("bin/ddmapper"))) {
            throw new IllegalStateException(dist + "/bin/ddmapper is missing: build it with mvn -DskipTests package");
        }
        return dist;
    }

    /** Boots an appliance in a fresh temporary home, deleted again by {@link #close()}. */
    public static Appliance start(String... extraArgs) throws IOException, InterruptedException {
        return builder().args(extraArgs).start();
    }

    /** Boots an appliance in {@code home} (kept after {@link #close()}); e.g. a JUnit {@code @TempDir}. */
    public static Appliance start(Path home, String... extraArgs) throws IOException, InterruptedException {
        return builder().home(home).args(extraArgs).start();
    }

    /** Runs an appliance in {@code home} until it exits by itself (for boots that must fail); kills it after {@code timeout}. */
    public static Exit run(Path home, Duration timeout, String... extraArgs) throws IOException, InterruptedException {
        return builder().home(home).args(extraArgs).run(timeout);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options of a boot beyond the extra arguments. */
    public static final class Builder {
        private Path home;
        private final List<String> args = new ArrayList<>();
        private boolean noConsole = true;
        private Path distribution;
        private final List<String> wrapper = new ArrayList<>();
        private String javaOpts = System.getenv().getOrDefault("DDMAPPER_JAVA_OPTS", TEST_JAVA_OPTS);

        private Builder() {
        }

        /** The home (kept after close); default a fresh temporary one, deleted by {@link #close()}. */
        public Builder home(Path home) {
            this.home = home;
            return this;
        }

        /** Arguments after the defaults (they win). */
        public Builder args(String... extraArgs) {
            args.addAll(List.of(extraArgs));
            return this;
        }

        /** Whether to pass --no-console (default true). Without it, stdin is still /dev/null, not a terminal. */
        public Builder noConsole(boolean noConsole) {
            this.noConsole = noConsole;
            return this;
        }

        /** Another distribution directory (e.g. a copy with an extra bundle); default {@link Appliance#distribution()}. */
        public Builder distribution(Path distribution) {
            this.distribution = distribution;
            return this;
        }

        /** A command that runs bin/ddmapper, e.g. {@code setpriv --bounding-set=-dac_override --}; default none. */
        public Builder wrapper(String... command) {
            wrapper.addAll(List.of(command));
            return this;
        }

        /**
         * Starts the process and returns it without waiting for anything: for tests of the boot itself
         * (a signal in the middle of it). The caller owns the process and must end it.
         */
        public Process spawn() throws IOException {
            if (home == null) {
                throw new IllegalStateException("spawn() needs a home");
            }
            return launch(home);
        }

        /**
         * JVM options of the appliance (DDMAPPER_JAVA_OPTS); default {@link #TEST_JAVA_OPTS}, or the
         * environment's DDMAPPER_JAVA_OPTS. Pass "" for the JVM's defaults (full JIT), e.g. for throughput;
         * null leaves DDMAPPER_JAVA_OPTS unset, so bin/ddmapper uses its own defaults.
         */
        public Builder javaOpts(String javaOpts) {
            this.javaOpts = javaOpts;
            return this;
        }

        /** Boots and waits (bounded) for the ready line; throws AssertionError with the output when it does not come. */
        public Appliance start() throws IOException, InterruptedException {
            boolean ownHome = home == null;
            Path dir = ownHome ? Files.createTempDirectory("ddmapper-it-") : home;
            try {
                return Appliance.start(dir, ownHome, launch(dir));
            } catch (IOException | InterruptedException | RuntimeException | Error e) {
                if (ownHome) {
                    deleteTree(dir);
                }
                throw e;
            }
        }

        /** Runs until the appliance exits by itself; kills it and throws AssertionError after {@code timeout}. */
        public Exit run(Duration timeout) throws IOException, InterruptedException {
            boolean ownHome = home == null;
            Path dir = ownHome ? Files.createTempDirectory("ddmapper-it-") : home;
            try {
                return Appliance.run(launch(dir), timeout);
            } finally {
                if (ownHome) {
                    deleteTree(dir);
                }
            }
        }

        private Process launch(Path dir) throws IOException {
            Path dist = distribution != null ? distribution : Appliance.distribution();
            List<String> command = new ArrayList<>(wrapper);
            command.add(dist.resolve("bin/ddmapper").toString());
            if (noConsole) {
                command.add("--no-console");
            }
            command.addAll(List.of("--home", dir.toString(), "--nbd", "127.0.0.1:0", "--http", "none",
                    "--socket", dir.resolve("run/control.sock").toString()));
            command.addAll(args);
            ProcessBuilder builder = new ProcessBuilder(command).redirectInput(new File("/dev/null"));
            builder.environment().remove("DDMAPPER_HOME");
            if (javaOpts == null) {
                builder.environment().remove("DDMAPPER_JAVA_OPTS");
            } else {
                builder.environment().put("DDMAPPER_JAVA_OPTS", javaOpts);
            }
            return builder.start();
        }
    }

    private static Appliance start(Path home, boolean ownHome, Process process) throws InterruptedException {
        Output out = Output.drain(process.getInputStream(), "stdout");
        Output err = Output.drain(process.getErrorStream(), "stderr");
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try {
            while (true) {
                Matcher m = READY_LINE.matcher(out.text());
                if (m.find()) {
                    return new Appliance(process, home, ownHome, out, err, m);
                }
                if (!process.isAlive()) {
                    out.join();
                    err.join();
                    throw new AssertionError("the appliance exited before it was ready: "
                            + new Exit(process.exitValue(), out.text(), err.text()));
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the appliance was not ready within " + READY_TIMEOUT.toSeconds() + " s: "
                            + new Exit(-1, out.text(), err.text()));
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException | RuntimeException | Error e) {
            kill(process);
            throw e;
        }
    }

    private static Exit run(Process process, Duration timeout) throws InterruptedException {
        Output out = Output.drain(process.getInputStream(), "stdout");
        Output err = Output.drain(process.getErrorStream(), "stderr");
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill(process);
            out.join();
            err.join();
            throw new AssertionError("the appliance did not exit within " + timeout.toSeconds() + " s: "
                    + new Exit(-1, out.text(), err.text()));
        }
        out.join();
        err.join();
        return new Exit(process.exitValue(), out.text(), err.text());
    }

    /** The ready line as printed. */
    public String readyLine() {
        return ready.group();
    }

    /** {@code HOST:PORT} of the NBD server with the real port, or "none". */
    public String nbdAddress() {
        return ready.group(1);
    }

    public String nbdHost() {
        String address = requireNbd();
        return address.substring(0, address.lastIndexOf(':'));
    }

    public int nbdPort() {
        String address = requireNbd();
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    /** {@code nbd://HOST:PORT/EXPORT} for a client such as nbdinfo or qemu-io. */
    public String nbdUri(String export) {
        return "nbd://" + requireNbd() + "/" + export;
    }

    /** The NBD Unix socket from the ready line (given with --nbd-socket), or null. */
    public Path nbdSocket() {
        return ready.group(3) == null ? null : Path.of(ready.group(3));
    }

    /** The control socket from the ready line; the requested HOME/run/control.sock when it says "none". */
    public Path controlSocket() {
        String control = ready.group(2);
        return control.equals("none") ? home.resolve("run/control.sock") : Path.of(control);
    }

    /** True when the ready line reports a control endpoint (the control bundle is present). */
    public boolean hasControl() {
        return !ready.group(2).equals("none");
    }

    public Path home() {
        return home;
    }

    /** The tinylog file of the bundles: HOME/log/ddmapper.log. */
    public Path log() {
        return home.resolve("log/ddmapper.log");
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything printed on stdout so far (the ready line, --exec output). */
    public String output() {
        return stdout.text();
    }

    /** Everything printed on stderr so far (the launcher's lines, warnings and errors of the bundles). */
    public String errors() {
        return stderr.text();
    }

    /**
     * Runs the distribution's {@code bin/ddsetup --socket CONTROL ARGS…} against this appliance (stdin
     * empty, bounded by 60 s) and returns how it ended.
     */
    public Exit ddsetup(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(distribution().resolve("bin/ddsetup").toString(),
                "--socket", controlSocket().toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectInput(new File("/dev/null"));
        builder.environment().put("DDMAPPER_HOME", home.toString());
        Process cli = builder.start();
        Output out = Output.drain(cli.getInputStream(), "stdout");
        Output err = Output.drain(cli.getErrorStream(), "stderr");
        if (!cli.waitFor(60, TimeUnit.SECONDS)) {
            kill(cli);
            throw new AssertionError("ddsetup " + String.join(" ", args) + " did not exit within 60 s");
        }
        out.join();
        err.join();
        return new Exit(cli.exitValue(), out.text(), err.text());
    }

    /**
     * Stops the appliance with SIGTERM, waits (bounded) and asserts a clean stop: exit status 0 and no
     * process left. Returns how it ended.
     */
    public Exit stop() throws InterruptedException {
        List<ProcessHandle> children = process.toHandle().descendants().toList();
        Exit exit = terminate(STOP_TIMEOUT);
        if (exit.code() != 0) {
            throw new AssertionError("the appliance did not stop cleanly on SIGTERM: " + exit);
        }
        for (ProcessHandle child : children) {
            if (child.isAlive()) {
                child.destroyForcibly();
                throw new AssertionError("process " + child.pid() + " (" + child.info().command().orElse("?")
                        + ") was left running after the appliance stopped");
            }
        }
        return exit;
    }

    /**
     * Sends SIGTERM and waits (bounded) for the exit, whatever its status (for stops that must fail);
     * kills the process and throws AssertionError after {@code timeout}.
     */
    public Exit terminate(Duration timeout) throws InterruptedException {
        if (process.isAlive()) {
            process.toHandle().destroy(); // SIGTERM
        }
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill(process);
            throw new AssertionError("the appliance did not stop within " + timeout.toSeconds()
                    + " s of SIGTERM: " + new Exit(-1, stdout.text(), stderr.text()));
        }
        stdout.join();
        stderr.join();
        return new Exit(process.exitValue(), stdout.text(), stderr.text());
    }

    /** Kills the appliance by pid if it is still alive and deletes a home this harness made. */
    @Override
    public void close() {
        kill(process);
        stdout.join();
        stderr.join();
        if (ownHome && !Boolean.getBoolean("ddmapper.it.keep")) {
            deleteTree(home);
        }
    }

    private String requireNbd() {
        String address = nbdAddress();
        if (address.equals("none")) {
            throw new IllegalStateException("the appliance serves no NBD (ready line: " + readyLine() + ")");
        }
        return address;
    }

    private static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        if (process.isAlive()) {
            process.destroyForcibly(); // SIGKILL, by pid
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }

    /** A stream of a child process read line by line on its own thread, so that the child never blocks on a full pipe. */
    private static final class Output {
        private final StringBuilder text = new StringBuilder();
        private final Thread reader;

        private Output(InputStream in, String name) {
            reader = new Thread(() -> {
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line; (line = lines.readLine()) != null; ) {
                        synchronized (text) {
                            text.append(line).append('\n');
                        }
                    }
                } catch (IOException e) {
                    synchronized (text) {
                        text.append("[reading ").append(name).append(" failed: ").append(e).append("]\n");
                    }
                }
            }, "appliance-" + name);
            reader.setDaemon(true);
        }

        static Output drain(InputStream in, String name) {
            Output output = new Output(in, name);
            output.reader.start();
            return output;
        }

        String text() {
            synchronized (text) {
                return text.toString();
            }
        }

        /** Waits (bounded) until the stream ended. */
        void join() {
            try {
                reader.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
