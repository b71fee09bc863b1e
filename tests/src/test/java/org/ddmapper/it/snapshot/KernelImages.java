package org.ddmapper.it.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.it.support.Peers;

/**
 * The kernel-made snapshot images of tests/src/test/resources/kernel-snapshot (made by
 * tests/kernel/snapshot/make-images.sh), decompressed with xz into a test's directory.
 */
final class KernelImages {
    private KernelImages() {}

    static Path resources() {
        return Path.of(System.getProperty("user.dir")).resolve("src/test/resources/kernel-snapshot");
    }

    /** NAME.img.xz decompressed to DIR/NAME.img. */
    static Path image(String name, Path dir) throws Exception {
        String xz = Peers.require("xz");
        Path out = dir.resolve(name + ".img");
        Peers.ok(60, "sh", "-c", "'" + xz + "' -dc '" + resources().resolve(name + ".img.xz") + "' > '" + out + "'");
        return out;
    }

    /** The lines the kernel printed (NAME.txt). */
    static List<String> lines(String name) throws IOException {
        return Scenario.kernelLines(Files.readAllLines(resources().resolve(name + ".txt")));
    }
}
