package org.ddmapper.it.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.it.support.EmbeddedFramework;

/**
 * An embedded appliance whose upgradable bundles were installed from copies in the test's
 * directory (the image's jars, never written: an upgrade goes to the home's bundle store), with its
 * control socket, the upgrade op over it and ddsetup as a child process.
 */
final class UpgradeBench implements AutoCloseable {
    final EmbeddedFramework fw;
    final CoreFixture fx;
    final DeviceManager dm;
    final Path socket;
    /** The installed copies by symbolic name (the bundles' locations). */
    final java.util.Map<String, Path> installed = new java.util.LinkedHashMap<>();

    UpgradeBench(Path dir, EmbeddedFramework.Builder builder, String... copied) throws IOException {
        Path bundles = Files.createDirectories(dir.resolve("bundle"));
        for (String bsn : copied) {
            Path copy = Files.copy(EmbeddedFramework.bundleJar(bsn), bundles.resolve(bsn + ".jar"));
            installed.put(bsn, copy);
            builder.without(bsn);
        }
        fw = builder.start();
        try {
            for (Path copy : installed.values()) fw.install(copy);
            fx = new CoreFixture(fw, dir);
            dm = fx.dm;
            Endpoint control = fw.service(Endpoint.class, "(kind=control)", 15_000);
            if (control.failure() != null) throw new IllegalStateException("control endpoint failed: " + control.failure());
            socket = Path.of(control.address());
        } catch (RuntimeException | org.osgi.framework.BundleException e) {
            fw.close();
            throw new IllegalStateException("the upgrade bench did not start: " + e.getMessage(), e);
        }
    }

    /** UPGRADE over the control socket; returns the reply text (a failure throws the server's DmException). */
    String upgrade(String bsn, Path jar) throws IOException {
        try (DdlinkClient c = DdlinkClient.connect(socket)) {
            return new String(c.callOk(Op.UPGRADE, 0, new PayloadWriter().text(bsn).nul().text(jar.toString()).toBytes()),
                    StandardCharsets.UTF_8);
        }
    }

    /** The version the home's bundle store boots for {@code bsn} (its CURRENT one), or "" when it holds none. */
    String storedCurrent(String bsn) {
        return fw.service(org.ddmapper.api.BundleUpgrades.class).stored().stream().filter(sb -> sb.bundle().equals(bsn))
                .flatMap(sb -> sb.versions().stream()).filter(v -> v.status() == org.ddmapper.api.StoredBundle.Status.CURRENT)
                .map(org.ddmapper.api.StoredBundle.Version::version).findFirst().orElse("");
    }

    /** A finished ddsetup run. */
    record Result(int exit, String stdout, String stderr) { }

    /** Runs ddsetup as bin/ddsetup would (control, api and JNA jars only) against this appliance. */
    Result ddsetup(String... args) throws Exception {
        String api = Path.of(DeviceManager.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        String cp = String.join(java.io.File.pathSeparator, EmbeddedFramework.bundleJar("org.ddmapper.control").toString(), api,
                EmbeddedFramework.bundleJar("com.sun.jna").toString());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp, "org.ddmapper.control.cli.Ddsetup", "--socket", socket.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(fx.dir, "ddsetup", ".out");
        Path err = Files.createTempFile(fx.dir, "ddsetup", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("ddsetup " + String.join(" ", args) + " did not finish in 60 s");
        } finally {
            if (p.isAlive()) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Override
    public void close() {
        fx.close();
    }
}
