package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.it.support.Peers;

/** fio with its nbd engine against one of our exports, bounded in time, killed by pid if it overruns. */
public final class Fio {
    public record Result(int exitCode, String output, long millis) {
        public boolean verifyFailed() { return output.contains("verify:") || output.contains("bad magic") || output.contains("crc32c"); }
    }

    private Fio() {}

    public static Result run(String uri, long timeoutSeconds, String... jobArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("fio"), "--ioengine=nbd", "--uri=" + uri,
                "--output-format=normal", "--eta=never", "--verify_state_save=0", "--name=mp"));
        cmd.addAll(List.of(jobArgs));
        Peers.Result r = Peers.run(timeoutSeconds, cmd.toArray(String[]::new));
        if (r.exit() == -1) fail("fio did not finish within " + timeoutSeconds + " s: " + r.output());
        return new Result(r.exit(), r.output(), r.millis());
    }
}
