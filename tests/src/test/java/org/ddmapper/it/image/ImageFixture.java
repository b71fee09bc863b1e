package org.ddmapper.it.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;

/** A read-only copy of the distribution and the boots, clients and jars the image tests share. */
final class ImageFixture {
    private ImageFixture() {
    }

    /** Runs a command as root without CAP_DAC_OVERRIDE: the mode bits hold for it, as for any other user. */
    static List<String> withoutDacOverride(String... command) {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("setpriv"), "--bounding-set=-dac_override", "--"));
        cmd.addAll(List.of(command));
        return cmd;
    }

    /** A copy of {@code dist} (without its default home var/) with every write bit removed. */
    static Path readOnlyCopy(Path dist, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(dist)) {
            for (Path p : paths.filter(p -> !dist.relativize(p).startsWith("var")).toList()) {
                Path target = to.resolve(dist.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        try (Stream<Path> paths = Files.walk(to)) {
            for (Path p : paths.toList()) {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                perms.removeAll(Set.of(PosixFilePermission.OWNER_WRITE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE));
                Files.setPosixFilePermissions(p, perms);
            }
        }
        return to;
    }

    /** The jar of bundle/ whose name starts with {@code prefix} followed by a version. */
    static Path bundleJar(Path dist, String prefix) throws IOException {
        try (Stream<Path> jars = Files.list(dist.resolve("bundle"))) {
            return jars.filter(j -> j.getFileName().toString().startsWith(prefix)
                    && j.getFileName().toString().substring(prefix.length()).matches("\\d.*")).findFirst().orElseThrow();
        }
    }

    /** Boots {@code dist} in {@code home} as root without CAP_DAC_OVERRIDE. */
    static Appliance boot(Path dist, Path home) throws IOException, InterruptedException {
        return Appliance.builder().distribution(dist).home(home).wrapper(withoutDacOverride().toArray(String[]::new)).start();
    }

    /** fio through NBD for {@code seconds}: random 4 KiB writes at queue depth 8, each block verified (crc32c) as it goes. */
    static Peers.Result fio(String fio, String uri, int seconds) {
        try {
            return Peers.run(seconds + 60L, fio, "--ioengine=nbd", "--uri=" + uri, "--name=io", "--rw=randwrite", "--bs=4k", "--iodepth=8",
                    "--size=8M", "--verify=crc32c", "--verify_backlog=64", "--runtime=" + seconds, "--time_based", "--eta=never",
                    "--verify_state_save=0");
        } catch (Exception e) {
            throw new IllegalStateException("fio: " + e, e);
        }
    }

    /** The first line of what ddsetup printed, with its line break; the whole exit when it failed. */
    static String firstLine(Appliance.Exit exit) {
        if (exit.code() != 0) throw new AssertionError(exit.toString());
        String out = exit.stdout();
        return out.substring(0, out.indexOf('\n') + 1);
    }

    /** One qemu-io command on an NBD export; asserts it ran and reported no failure (a pattern mismatch among them). */
    static void qemuIo(String qemuIo, String uri, String command) throws Exception {
        String out = Peers.ok(30, qemuIo, "-f", "raw", uri, "-c", command);
        if (out.contains("failed") || out.contains("error")) throw new AssertionError("qemu-io " + command + ": " + out);
    }
}
