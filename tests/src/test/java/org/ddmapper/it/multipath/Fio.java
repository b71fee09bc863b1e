package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** fio with its nbd engine against one of our exports, bounded in time, killed by pid if it overruns. */
final class Fio {
    record Result(int exitCode, String output, long millis) {
        boolean verifyFailed() { return output.contains("verify:") || output.contains("bad magic") || output.contains("crc32c"); }
    }

    private Fio() {}

    static Result run(Path dir, String uri, long timeoutSeconds, String... jobArgs) throws Exception {
        NbdPeer.require("fio");
        List<String> cmd = new ArrayList<>(List.of("fio", "--ioengine=nbd", "--uri=" + uri, "--output-format=normal",
                "--eta=never", "--verify_state_save=0", "--name=mp"));
        cmd.addAll(List.of(jobArgs));
        Path out = Files.createTempFile(dir, "fio", ".log");
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail("fio did not finish within " + timeoutSeconds + " s: " + Files.readString(out));
            }
        } finally {
            if (p.isAlive()) p.destroyForcibly();
        }
        return new Result(p.exitValue(), Files.readString(out), (System.nanoTime() - start) / 1_000_000);
    }
}
