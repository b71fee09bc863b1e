package org.ddmapper.it.reliability;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.it.support.Peers;

/** Runs a script of bench/ from the checkout, its temp files in memory when there is a tmpfs (the appliance fsyncs a lot). */
final class BenchScripts {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    private BenchScripts() { }

    /** The script's output; fails the test (with the output) when it exits non-zero or runs out of time. */
    static String run(long timeoutSeconds, String script, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("env", "TMPDIR=" + (Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                ROOT.resolve("bench").resolve(script).toString()));
        command.addAll(List.of(args));
        return Peers.ok(timeoutSeconds, command.toArray(String[]::new));
    }
}
