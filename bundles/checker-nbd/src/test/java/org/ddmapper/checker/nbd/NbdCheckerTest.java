package org.ddmapper.checker.nbd;

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
class NbdCheckerTest {
    private final NbdChecker checker = new NbdChecker();

    private CheckResult check(String ref, Errno error, boolean hang) throws Exception {
        MemoryDevice path = new MemoryDevice(ref, 2048).failAlways(error);
        return checker.check(hang ? path.hold() : path, 100).get(5, TimeUnit.SECONDS);
    }

    @Test
    void doesNotApplyToOtherPaths() throws Exception {
        CheckResult r = check("/var/lib/disk.img", null, false);
        assertEquals(new CheckResult(PathState.WILD, "the nbd checker applies to nbd://, nbds://, nbd+unix:// and nbds+unix:// paths, not '/var/lib/disk.img'"), r);
    }

    @Test
    void tellsTransportFailuresFromStorageAnswers() throws Exception {
        CheckResult up = check("nbd://127.0.0.1:10809/a", null, false);
        assertEquals(PathState.UP, up.state());
        assertTrue(up.message().startsWith("the server answered a read in "), up.message());
        assertEquals(new CheckResult(PathState.DOWN, "connection: ECONNRESET: scripted"), check("nbd://h:1/a", Errno.ECONNRESET, false));
        assertEquals(new CheckResult(PathState.DOWN, "connection: ENODEV: scripted"), check("nbd+unix:///a?socket=/s", Errno.ENODEV, false));
        assertEquals(new CheckResult(PathState.UP, "the server answers; its storage said EINVAL: scripted"), check("nbd://h:1/a", Errno.EINVAL, false));
        assertEquals(new CheckResult(PathState.TIMEOUT, "the server sent no reply within 100 ms"), check("nbd://h:1/a", null, true));
    }
}
