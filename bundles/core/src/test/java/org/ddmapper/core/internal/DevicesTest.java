package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.spi.testkit.TestTargetTypes;

@Timeout(30)
class DevicesTest {
    @TempDir Path dir;
    Devices devices;
    TestTargetTypes.Linear linear = new TestTargetTypes.Linear();
    Path file;

    @BeforeEach
    void start() throws Exception {
        devices = new Devices();
        devices.addTargetType(linear, "test", 1);
        devices.start(CoreConfig.forHome(dir.resolve("home")));
        file = dir.resolve("disk.img");
        Files.write(file, new byte[1 << 20]);
    }

    @AfterEach
    void stop() { devices.close(); }


    static IoStatus write(BlockDevice dev, long sector, byte[] data) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(Bio.write(sector, ByteBuffer.wrap(data), 0, f::complete));
        return f.get(10, TimeUnit.SECONDS);
    }

    static byte[] read(BlockDevice dev, long sector, int bytes) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        ByteBuffer buf = ByteBuffer.allocate(bytes);
        dev.submit(Bio.read(sector, buf, f::complete));
        IoStatus s = f.get(10, TimeUnit.SECONDS);
        assertTrue(s.isOk(), s.toString());
        return buf.array();
    }

    @Test
    void createWriteReadThroughTwoTargets() throws Exception {
        DeviceInfo info = devices.create("d0", "0 8 tlinear " + file + " 100\n8 8 tlinear " + file + " 0\n");
        assertEquals(16, info.sizeSectors());
        assertEquals("LIVE", info.tablesPresent());
        try (BlockDevice dev = devices.open(DeviceRef.of("d0"))) {
            byte[] data = new byte[16 * 512];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i / 512 + 1);
            assertTrue(write(dev, 0, data).isOk());
            assertArrayEquals(data, read(dev, 0, data.length));
            byte[] onDisk = Files.readAllBytes(file);
            assertEquals(1, onDisk[100 * 512]);
            assertEquals(9, onDisk[0]);
        }
    }

    @Test
    void aDeviceATargetOpensLaterCountsInDepsAndCycleChecksUntilItIsClosed() {
        devices.create("low", "0 8 tlinear " + file + " 0");
        devices.create("top", "0 8 tlinear " + file + " 8");
        assertEquals(List.of(file.toString()), devices.deps(DeviceRef.of("top")));
        devices.message(DeviceRef.of("top"), new TargetRef.ByIndex(0), Message.of("open", "dm:low"));
        assertEquals(List.of("dm:low", file.toString()), devices.deps(DeviceRef.of("top")), "the kernel's order: the device first used last first");
        DmException cycle = assertThrows(DmException.class, () -> devices.load(DeviceRef.of("low"), "0 8 tlinear dm:top 0"));
        assertEquals("line 1: tlinear: 'dm:top': stacking low on top would make a cycle: top -> low -> top", cycle.getMessage());
        devices.message(DeviceRef.of("top"), new TargetRef.ByIndex(0), Message.of("close"));
        assertEquals(List.of(file.toString()), devices.deps(DeviceRef.of("top")));
        devices.load(DeviceRef.of("low"), "0 8 tlinear dm:top 0");
        assertEquals("LIVE & INACTIVE", devices.info(DeviceRef.of("low")).tablesPresent());
    }

    @Test
    void aLowerDeviceReopenedByItsTargetStillCountsAsALower() {
        devices.create("base", "0 8 tlinear " + file + " 0");
        devices.create("upper", "0 8 tlinear dm:base 0");
        devices.message(DeviceRef.of("upper"), new TargetRef.ByIndex(0), Message.of("reopen"));
        assertEquals(List.of("dm:base"), devices.deps(DeviceRef.of("upper")));
        assertEquals(1, devices.info(DeviceRef.of("base")).openCount(), "the first handle was closed, the new one holds it");
        DmException cycle = assertThrows(DmException.class, () -> devices.load(DeviceRef.of("base"), "0 8 tlinear dm:upper 0"));
        assertEquals("line 1: tlinear: 'dm:upper': stacking base on upper would make a cycle: upper -> base -> upper", cycle.getMessage());
    }

    @Test
    void unknownTypeChangesNothing() {
        devices.create("d1", "0 8 tlinear " + file + " 0");
        DmException e = assertThrows(DmException.class, () -> devices.load(DeviceRef.of("d1"), "0 8 nosuch x"));
        assertEquals("line 1: unknown target type 'nosuch'", e.getMessage());
        assertFalse(devices.info(DeviceRef.of("d1")).inactiveTable());
    }

    @Test
    void createWithATableRaisesCreatedFirst() {
        devices.create("d2", "0 8 tlinear " + file + " 0");
        List<EventKind> kinds = devices.events(DeviceRef.of("d2"), 0).stream().map(DeviceEvent::kind).toList();
        assertEquals(List.of(EventKind.CREATED, EventKind.TABLE_LOADED, EventKind.TABLE_LIVE, EventKind.RESUMED), kinds);
        List<Long> numbers = devices.events(DeviceRef.of("d2"), 0).stream().map(DeviceEvent::eventNr).toList();
        assertEquals(List.of(1L, 2L, 3L, 4L), numbers);
    }

    @Test
    void waitWithoutLimitWaitsForTheNextEvent() throws Exception {
        devices.create("d3", null);
        long before = devices.info(DeviceRef.of("d3")).eventNr();
        CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> {
            try {
                return devices.waitEvent(DeviceRef.of("d3"), before, Long.MAX_VALUE);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        devices.suspend(DeviceRef.of("d3"), false);
        Thread.sleep(200); // the waiter must still be waiting (an overflowing deadline returned at once; a suspend is not counted)
        assertFalse(waited.isDone(), "wait with Long.MAX_VALUE returned at once: " + (waited.isDone() ? waited.join() : ""));
        devices.rename(DeviceRef.of("d3"), "d3b");
        assertEquals(before + 1, waited.get(10, TimeUnit.SECONDS), "a rename is counted, as in the kernel");
    }

    @Test
    void everyVerbOnAMissingDeviceSaysENXIO() throws Exception {
        DeviceRef missing = DeviceRef.of("nosuch");
        List<org.junit.jupiter.api.function.Executable> verbs = List.of(
                () -> devices.info(missing), () -> devices.load(missing, "0 8 tlinear " + file + " 0"),
                () -> devices.clear(missing), () -> devices.suspend(missing, false), () -> devices.resume(missing),
                () -> devices.remove(missing, false), () -> devices.rename(missing, "other"), () -> devices.table(missing, false),
                () -> devices.status(missing), () -> devices.deps(missing), () -> devices.events(missing, 0),
                () -> devices.waitEvent(missing, 0, 0), () -> devices.open(missing),
                () -> devices.message(missing, new TargetRef.ByIndex(0), Message.of("ping")));
        for (var verb : verbs) {
            DmException e = assertThrows(DmException.class, verb);
            assertEquals(Errno.ENXIO, e.errno(), e.getMessage());
            assertEquals("no device named 'nosuch'", e.getMessage());
        }
    }

    /** A read-only device with 4 KiB logical blocks that does nothing natively beyond reads: "ro:NAME". */
    static final class ReadOnlyProvider implements org.ddmapper.spi.BlockDeviceProvider {
        @Override public java.util.Set<String> schemes() { return java.util.Set.of("ro"); }

        @Override
        public BlockDevice open(String reference, boolean readOnly) {
            return new BlockDevice() {
                @Override public String reference() { return reference; }
                @Override public long sizeSectors() { return 2048; }
                @Override public int logicalBlockBytes() { return 4096; }
                @Override public boolean readOnly() { return true; }
                @Override public boolean supports(org.ddmapper.api.BioOp op) { return op == org.ddmapper.api.BioOp.READ; }
                @Override public void submit(Bio bio) { bio.fail(Errno.EROFS, reference + " is read-only"); }
                @Override public void close() { }
            };
        }
    }

    @Test
    void theHandleAndInfoSayWhatTheLiveTableOffers() {
        devices.addProvider(new ReadOnlyProvider());
        devices.create("rw", "0 8 tlinear " + file + " 0");
        try (BlockDevice h = devices.open(DeviceRef.of("rw"))) {
            assertFalse(h.readOnly());
            assertFalse(devices.info(DeviceRef.of("rw")).readOnly());
            assertEquals(512, h.logicalBlockBytes());
            assertTrue(h.supports(org.ddmapper.api.BioOp.FLUSH));
            assertTrue(h.supports(org.ddmapper.api.BioOp.WRITE_ZEROES), "a regular file punches a hole for write-zeroes");
            assertTrue(h.supports(org.ddmapper.api.BioOp.DISCARD), "a regular file punches a hole for a discard");
        }
        devices.create("ro", "0 8 tlinear ro:a 0\n8 8 tlinear ro:b 0");
        try (BlockDevice h = devices.open(DeviceRef.of("ro"))) {
            assertTrue(h.readOnly(), "every device underneath is read-only");
            assertTrue(devices.info(DeviceRef.of("ro")).readOnly());
            assertEquals(4096, h.logicalBlockBytes());
            assertFalse(h.supports(org.ddmapper.api.BioOp.WRITE));
            // a table that also writes to a file is not read-only
            devices.load(DeviceRef.of("ro"), "0 8 tlinear ro:a 0\n8 8 tlinear " + file + " 0");
            devices.resume(DeviceRef.of("ro"));
            assertFalse(h.readOnly());
            assertFalse(devices.info(DeviceRef.of("ro")).readOnly());
            assertEquals(4096, h.logicalBlockBytes());
        }
    }
}
