package org.ddmapper.it.mirror;

import static org.ddmapper.it.support.Io.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.multipath.MultipathFixture;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mirror in the real framework over real files: a first resync, a leg that fails (a stacked
 * device whose table is swapped for {@code error}) and comes back through a reload, with the
 * events and status lines an operator sees, and the legs compared byte for byte.
 */
@Timeout(120)
class MirrorFilesTest {
    static final long SECTORS = 16384; // 8 MiB, 16 regions of 1024 sectors
    @TempDir Path dir;
    MultipathFixture fx;
    Path a;
    Path b;
    Path log;

    @BeforeEach
    void start() throws Exception {
        fx = new MultipathFixture(dir, "");
        Waits.awaitTypes(fx.dm, "mirror", "linear", "error");
        a = fx.backingFile("a.img", SECTORS);
        b = fx.backingFile("b.img", SECTORS);
        log = fx.backingFile("log.img", 8);
    }

    @AfterEach
    void stop() { if (fx != null) fx.close(); }

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    private void awaitInSync(String device, long regions) {
        Waits.await(device + " in sync", () -> fx.status(device).contains(" " + regions + "/" + regions + " "));
    }

    private static void assertSameFiles(Path x, Path y) throws Exception {
        assertEquals(-1, Files.mismatch(x, y), x + " and " + y + " differ");
    }

    @Test
    void aNewMirrorCopiesTheFirstLegToTheSecondAndSaysSo() throws Exception {
        Files.write(a, pattern((int) SECTORS * 512, 1));
        fx.dm.create("m", "0 " + SECTORS + " mirror disk 2 " + log + " 1024 2 " + a + " 0 " + b + " 0");
        awaitInSync("m", 16);
        assertSameFiles(a, b);
        assertEquals("2 " + a + " " + b + " 16/16 1 AA 3 disk " + log + " A", fx.status("m"));
        assertEquals("disk 2 " + log + " 1024 2 " + a + " 0 " + b + " 0", fx.table("m"));
        List<DeviceEvent> done = fx.awaitEvents("m", EventKind.MIRROR_RECOVERY_COMPLETE, 1, 10_000);
        assertEquals(new EventPayload.MirrorRecoveryComplete(16), done.get(0).payload());
        try (DeviceManager.OpenDevice m = fx.dm.open(ref("m"))) {
            assertEquals(IoStatus.OK, Io.write(m, 5000, pattern(64 * 512, 2)));
            assertEquals(IoStatus.OK, Io.flush(m));
        }
        assertSameFiles(a, b);
    }

    @Test
    void aFailedLegIsOutUntilAReloadNamesItAgainAndThenGetsOnlyWhatItMissed() throws Exception {
        fx.dm.create("la", "0 " + SECTORS + " linear " + a + " 0");
        fx.dm.create("lb", "0 " + SECTORS + " linear " + b + " 0");
        String table = "0 " + SECTORS + " mirror disk 3 " + log + " 1024 nosync 2 dm:la 0 dm:lb 0 1 handle_errors";
        fx.dm.create("m", table);
        try (DeviceManager.OpenDevice m = fx.dm.open(ref("m"))) {
            assertEquals(IoStatus.OK, Io.write(m, 0, pattern(8 * 512, 3)));
            // a suspend marks every idle region clean (legs flushed first): region 0 is clean in the log
            fx.dm.suspend(ref("m"), false);
            fx.dm.resume(ref("m"));
            fx.reload("lb", "0 " + SECTORS + " error");
            // writes to regions 2 and 9 while /b is gone: acknowledged, only leg a has them
            assertEquals(IoStatus.OK, Io.write(m, 2 * 1024 + 5, pattern(16 * 512, 4)));
            assertEquals(IoStatus.OK, Io.write(m, 9 * 1024, pattern(1024 * 512, 5)));
            assertEquals("2 dm:la dm:lb 14/16 1 AD 3 disk " + log + " A", fx.status("m"));
            DeviceEvent failed = fx.awaitEvents("m", EventKind.MIRROR_LEG_FAILED, 1, 10_000).get(0);
            assertEquals(Map.of("leg", "1", "device", "dm:lb", "state", "D"),
                    Map.of("leg", failed.details().get("leg"), "device", failed.details().get("device"), "state", failed.details().get("state")));
            assertTrue(failed.details().get("error").startsWith("EIO"), failed.toLine());
            // the leg's device comes back; a reload of the same table brings the leg in again
            fx.reload("lb", "0 " + SECTORS + " linear " + b + " 0");
            fx.reload("m", table.replace("3 " + log + " 1024 nosync", "2 " + log + " 1024"));
            awaitInSync("m", 16);
            assertEquals("2 dm:la dm:lb 16/16 1 AA 3 disk " + log + " A", fx.status("m"));
            List<DeviceEvent> recovered = fx.awaitEvents("m", EventKind.MIRROR_RECOVERY_COMPLETE, 2, 10_000);
            assertEquals(new EventPayload.MirrorRecoveryComplete(2), recovered.get(recovered.size() - 1).payload(),
                    "only the two regions written while the leg was out were copied");
            assertEquals(IoStatus.OK, Io.flush(m));
        }
        assertSameFiles(a, b);
    }
}
