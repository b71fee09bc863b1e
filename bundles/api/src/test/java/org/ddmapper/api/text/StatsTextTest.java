package org.ddmapper.api.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.IoCounters;
import org.junit.jupiter.api.Test;

/** The text of {@code ddsetup stats}: the counters table, and histogram rows only for kinds of request that were seen. */
class StatsTextTest {
    private static IoCounters.Op op(long ios, long sectors, long errors, long nanos, int bucket) {
        long[] b = new long[IoCounters.BUCKETS];
        b[bucket] = ios;
        return new IoCounters.Op(ios, sectors, errors, nanos, b);
    }

    @Test
    void printsTheDeviceThenEachDeviceUnderneathThenTheLatencyHistograms() {
        IoCounters.Op none = IoCounters.Op.NONE;
        IoCounters dev = new IoCounters(op(12, 96, 1, 12 * 41_000L, 0), op(3, 24, 0, 3 * 1_500_000L, 5), none, op(1, 0, 0, 2_000_000, 5), 2);
        IoCounters file = new IoCounters(op(11, 88, 0, 11 * 30_000L, 0), none, none, none, 0);
        String text = StatsText.render(new DeviceStats("demo", 1, dev, List.of(new DeviceStats.Lower("/var/demo.img", file))));
        String expected = """
                demo
                  DEVICE                      READS  READ_SECT   WRITES WRITE_SECT DISCARDS  DISC_SECT  FLUSHES ERRORS INFLIGHT R_AWAIT_MS W_AWAIT_MS
                  demo                           12         96        3         24        0          0        1      1        2      0.041      1.500
                    /var/demo.img                11         88        0          0        0          0        0      0        0      0.030      0.000
                  LATENCY                            50us  100us  250us  500us    1ms  2.5ms    5ms   10ms   25ms   50ms  100ms  250ms  500ms     1s   2.5s    10s   >10s
                  demo read                            12      0      0      0      0      0      0      0      0      0      0      0      0      0      0      0      0
                  demo write                            0      0      0      0      0      3      0      0      0      0      0      0      0      0      0      0      0
                  demo flush                            0      0      0      0      0      1      0      0      0      0      0      0      0      0      0      0      0
                  /var/demo.img read                   11      0      0      0      0      0      0      0      0      0      0      0      0      0      0      0      0
                """;
        assertEquals(expected, text);
    }

    @Test
    void bucketsAreChosenByTheirUpperBound() {
        assertEquals(0, IoCounters.bucketOf(50_000));
        assertEquals(1, IoCounters.bucketOf(50_001), "past 50 us by a nanosecond");
        assertEquals(4, IoCounters.bucketOf(1_000_000));
        assertEquals(5, IoCounters.bucketOf(1_000_001));
        assertEquals(IoCounters.BUCKETS - 1, IoCounters.bucketOf(60_000_000_000L));
        assertEquals("2.5ms", StatsText.bucketLabel(5));
        assertEquals(">10s", StatsText.bucketLabel(IoCounters.BUCKETS - 1));
    }
}
