package org.ddmapper.checker.readsector0;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.MemoryDevice;

@Timeout(10)
class ReadSector0CheckerTest {
    private final ReadSector0Checker checker = new ReadSector0Checker();

    private CheckResult check(MemoryDevice d, long timeoutMillis) throws Exception {
        return checker.check(d, timeoutMillis).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aReadThatWorksIsUp() throws Exception {
        CheckResult r = check(new MemoryDevice("/x", 2048), 1000);
        assertEquals(PathState.UP, r.state());
        assertTrue(r.message().startsWith("read of sector 0 took "), r.message());
        assertEquals("readsector0", checker.name());
    }

    @Test
    void aReadErrorIsDownWithTheError() throws Exception {
        CheckResult r = check(new MemoryDevice("/x", 2048).failAlways(Errno.EIO), 1000);
        assertEquals(PathState.DOWN, r.state());
        assertEquals("read of sector 0 failed: EIO: scripted", r.message());
    }

    @Test
    void noAnswerIsATimeoutAndALateAnswerChangesNothing() throws Exception {
        MemoryDevice hung = new MemoryDevice("/x", 2048).hold();
        long start = System.nanoTime();
        CheckResult r = check(hung, 100);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 2000);
        assertEquals(new CheckResult(PathState.TIMEOUT, "read of sector 0 gave no answer within 100 ms"), r);
        assertEquals(4096, hung.held().get(0).lengthBytes());
        hung.release();
    }
}
