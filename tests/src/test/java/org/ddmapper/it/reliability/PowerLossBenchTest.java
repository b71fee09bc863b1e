package org.ddmapper.it.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The power-loss replay against the real appliance (bench/powerloss.sh): the verifying writer on
 * {@code linear} over {@code log-writes}, and fio on the log-writes device itself, each replayed to
 * every flush and FUA point and to random states between with unflushed writes dropped; no
 * violation, and the whole log replays to the data file as the run left it.
 */
@Timeout(900)
class PowerLossBenchTest {
    private static final Pattern SUMMARY = Pattern.compile(
            "powerloss: (\\d+) log entries; (\\d+) crash points checked \\((\\d+) flush, (\\d+) FUA, (\\d+) between, unflushed writes dropped\\); 0 violations");

    @Test
    void everyFlushedWriteOfTheVerifierOnLinearIsThereAtEveryCrashPoint() throws Exception {
        Matcher m = summary(BenchScripts.run(420, "powerloss.sh", "--workload", "verifier", "--stack", "linear", "--ops", "400", "--mib", "4"));
        assertTrue(Integer.parseInt(m.group(3)) > 10 && Integer.parseInt(m.group(4)) > 10 && Integer.parseInt(m.group(5)) > 10, m.group());
    }

    @Test
    void fioOnAFilesystemFreeDeviceLeavesOnlyWholeBlocksAtEveryFlushPoint() throws Exception {
        Peers.require("fio");
        Matcher m = summary(BenchScripts.run(420, "powerloss.sh", "--workload", "fio", "--stack", "none", "--ops", "400", "--mib", "4"));
        assertTrue(Integer.parseInt(m.group(3)) > 10 && Integer.parseInt(m.group(5)) > 10, m.group());
    }

    private static Matcher summary(String out) {
        Matcher m = SUMMARY.matcher(out);
        assertTrue(m.find(), out);
        return m;
    }
}
