package org.ddmapper.it.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A few cycles of the kill -9 loop (bench/crash.sh) on linear, striped and multipath devices: every
 * write acknowledged and made durable before each kill is found after the restart, every block whole.
 */
@Timeout(600)
class CrashLoopTest {

    @Test
    void acknowledgedWritesSurviveKillNineOfTheAppliance() throws Exception {
        Peers.require("nbdkit");
        Peers.require("nbdinfo");
        String out = BenchScripts.run(540, "crash.sh", "--cycles", "2", "--mib", "4");
        Matcher m = Pattern.compile("cycles: 2 +violations: 0 +writes acknowledged: (\\d+)").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(1)) > 100, "the writers wrote before the kills:\n" + out);
        assertTrue(out.matches("(?s).*restart to ready \\(ms\\): min \\d+ median \\d+ p90 \\d+ max \\d+.*"), out);
    }
}
