package org.ddmapper.it.control;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.spi.TargetType;
import org.ddmapper.spi.testkit.TestTargetTypes;

/**
 * A live appliance for the control tests: a real Felix with the built bundles (core, targets,
 * control, console), the test's echo target registered, and the control socket's Endpoint
 * awaited. Runs ddsetup and the C examples against it as child processes (killed on timeout).
 */
final class ControlHarness implements AutoCloseable {
    final EmbeddedFramework fw;
    final DeviceManager manager;
    final TestTargetTypes.Echo echo = new TestTargetTypes.Echo();
    final Path socket;
    final Endpoint endpoint;

    ControlHarness(EmbeddedFramework.Builder builder) {
        fw = builder.start();
        try {
            manager = fw.service(DeviceManager.class);
            Hashtable<String, Object> props = new Hashtable<>();
            fw.context().registerService(TargetType.class, echo, props);
            endpoint = fw.service(Endpoint.class, "(kind=control)", 15_000);
            if (endpoint.failure() != null) throw new IllegalStateException("control endpoint failed: " + endpoint.failure());
            socket = Path.of(endpoint.address());
            waitForTypes("echo", "linear", "zero");
        } catch (RuntimeException | InterruptedException e) {
            fw.close();
            throw new IllegalStateException(e);
        }
    }

    static ControlHarness start() {
        return new ControlHarness(EmbeddedFramework.builder());
    }

    /** Waits until these target types are registered (10 s at most). */
    void waitForTypes(String... names) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        for (String n : names) {
            while (manager.targets().stream().noneMatch(t -> t.name().equals(n))) {
                if (System.currentTimeMillis() > deadline) throw new IllegalStateException("target type " + n + " never registered");
                Thread.sleep(20);
            }
        }
    }

    DdlinkClient client() throws IOException {
        return DdlinkClient.connect(socket);
    }

    /** A finished program: exit code, stdout, stderr, and how long it ran. */
    record Result(int exit, String stdout, String stderr, long millis) {}

    /** Runs {@code ddsetup --socket SOCKET args...} as bin/ddsetup would: control, api and JNA jars only. */
    Result ddsetup(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                "-Dddmapper.home=" + fw.home(), "-cp", ddsetupClassPath(), "org.ddmapper.control.cli.Ddsetup", "--socket", socket.toString()));
        cmd.addAll(List.of(args));
        return run(cmd, stdin, 30);
    }

    /** Runs the distribution's own {@code bin/ddsetup --socket SOCKET args...} (the shell script), stdin piped from {@code stdin}. */
    Result binDdsetup(String stdin, String... args) throws IOException, InterruptedException {
        return run(binDdsetupCommand(args), stdin, 30);
    }

    /** The command line {@code DIST/bin/ddsetup --socket SOCKET args...}. */
    List<String> binDdsetupCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(org.ddmapper.it.support.Appliance.distribution().resolve("bin/ddsetup").toString(),
                "--socket", socket.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** control jar, api jar (or classes), JNA jar. */
    static String ddsetupClassPath() throws IOException {
        String api;
        try {
            api = Path.of(DeviceManager.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        return String.join(java.io.File.pathSeparator, EmbeddedFramework.bundleJar("org.ddmapper.control").toString(), api,
                EmbeddedFramework.bundleJar("com.sun.jna").toString());
    }

    /** The repository's examples/c. */
    static Path cSources() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("examples").resolve("c");
            if (Files.isRegularFile(c.resolve("ddtest.c"))) return c;
        }
        throw new IllegalStateException("examples/c not found");
    }

    /** Builds one C example with plain cc (warnings are errors). */
    static Path compile(String name, Path outDir) throws IOException, InterruptedException {
        Path binary = outDir.resolve(name);
        Result r = run(List.of("cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(), cSources().resolve(name + ".c").toString()),
                null, 60);
        if (r.exit() != 0) throw new IllegalStateException("cc " + name + ".c failed: " + r.stderr());
        return binary;
    }

    static Result run(List<String> command, String stdin, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("ctl", ".out");
        Path err = Files.createTempFile("ctl", ".err");
        long start = System.nanoTime();
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = pb.start();
            if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(command + " did not finish within " + timeoutSeconds + " s: "
                        + Files.readString(out) + Files.readString(err));
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8), millis);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Override
    public void close() {
        fw.close();
    }
}
