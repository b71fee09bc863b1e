package org.ddmapper.checker.directio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.spi.testkit.MemoryDevice;

/** Real files on a real disk (O_DIRECT); other transports are read through the path. */
@Timeout(20)
class DirectioCheckerTest {
    @TempDir Path dir;
    private final DirectioChecker checker = new DirectioChecker();

    @AfterEach
    void tearDown() { checker.deactivate(); }

    private CheckResult check(String ref, Errno deviceError) throws Exception {
        return checker.check(new MemoryDevice(ref, 2048).failAlways(deviceError), 2000).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aFileOnDiskIsReadWithODirect() throws Exception {
        Path f = dir.resolve("lun");
        Files.write(f, new byte[1 << 20]);
        CheckResult r = check(f.toString(), Errno.EIO); // the device would fail: the direct read does not use it
        assertEquals(PathState.UP, r.state(), r.message());
        assertTrue(r.message().startsWith("direct read of 4096 bytes took "), r.message());
    }

    @Test
    void aMissingOrShortFileIsDown() throws Exception {
        assertEquals(new CheckResult(PathState.DOWN, "direct read: " + dir.resolve("gone") + " does not exist"),
                check(dir.resolve("gone").toString(), null));
        Path shortFile = dir.resolve("short");
        Files.write(shortFile, new byte[100]);
        assertEquals(new CheckResult(PathState.DOWN, "direct read of block 0 returned 100 of 4096 bytes"), check(shortFile.toString(), null));
    }

    @Test
    void withoutODirectOrAFileTheBlockIsReadThroughThePath() throws Exception {
        CheckResult nbd = check("nbd://127.0.0.1:1/x", null);
        assertEquals(PathState.UP, nbd.state());
        assertTrue(nbd.message().startsWith("read of block 0 through the path took "), nbd.message());
        assertEquals(new CheckResult(PathState.DOWN, "read of block 0 failed: ECONNRESET: scripted"), check("nbd://h:1/x", Errno.ECONNRESET));
    }
}
