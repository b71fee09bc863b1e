package org.ddmapper.targets.multipath.internal.monitor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes etc/multipath.conf: whatever the text, reading it gives a configuration (never an
 * exception) whose intervals and timeouts are in range, and every problem it reports names its
 * line (or the section, or the interval pair it is about).
 */
class MultipathConfFuzzTest {

    @FuzzTest
    void conf(byte[] input) {
        MonitorConfig c = MultipathConf.parse(new String(input, StandardCharsets.UTF_8), "fuzz.conf");
        assertTrue(c.pollingIntervalMillis() >= 10 && c.pollingIntervalMillis() <= 86_400_000L, () -> "polling " + c);
        assertTrue(c.maxPollingIntervalMillis() >= c.pollingIntervalMillis(), () -> "max polling " + c);
        for (MapPolicy p : c.byAlias().values()) policyInRange(p, c);
        policyInRange(c.defaults(), c);
        for (String problem : c.problems())
            assertTrue(problem.startsWith("line ") || problem.startsWith("section '") || problem.startsWith("max_polling_interval"),
                    () -> "problem without a line: " + problem);
    }

    private static void policyInRange(MapPolicy p, MonitorConfig c) {
        assertTrue(p.checkerTimeoutMillis() >= 10 && p.checkerTimeoutMillis() <= 86_400_000L, () -> "checker timeout " + c);
        assertTrue(p.flapThreshold() >= 0 && p.flapWindowIntervals() >= 0 && p.flapHoldMillis() >= 0, () -> "flap damping " + c);
    }
}
