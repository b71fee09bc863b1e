package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.TargetStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.ddmapper.it.support.EventStream;

/** error, flakey, delay and a failing stripe, observed through real mapped devices over real files. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class FaultTargetsTest {
    @TempDir static Path dir;
    TargetsFixture fx;
    DeviceManager dm;

    @BeforeAll
    void start() {
        fx = new TargetsFixture();
        dm = fx.dm;
    }

    @AfterAll
    void stop() { if (fx != null) fx.close(); }

    @Test
    void aYankedDeviceFailsReadsWithTheErrorTargetsReason() throws Exception {
        Path f = patterned("yank.img", 64);
        dm.create("yank", "0 64 linear " + f + " 0");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("yank"))) {
            assertEquals(IoStatus.OK, Io.read(dev, 0, ByteBuffer.allocate(512)));
            dm.load(DeviceRef.of("yank"), "0 64 error");
            dm.resume(DeviceRef.of("yank"));
            IoStatus failed = Io.read(dev, 5, ByteBuffer.allocate(4096));
            assertEquals(IoStatus.error(Errno.EIO, "error target: every I/O fails"), failed);
            assertEquals(Errno.EIO, Io.write(dev, 0, new byte[512], 0).errno());
        }
        assertEquals(List.of(new TargetStatus(0, 64, "error", "")), dm.status(DeviceRef.of("yank")));
        assertArrayEquals(pattern(64), Files.readAllBytes(f), "the file is untouched");
        dm.remove(DeviceRef.of("yank"), false);
    }

    @Test
    void aFlushOfATableWithAnErrorSegmentSucceedsWhileItsReadsStillFail() throws Exception {
        Path f = patterned("holes.img", 64);
        dm.create("holes", "0 32 linear " + f + " 0\n32 32 error\n64 16 zero");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("holes"))) {
            assertEquals(IoStatus.OK, Io.write(dev, 0, new byte[512], 0));
            assertEquals(IoStatus.OK, Io.flush(dev), "error and zero take no flushes, as in the kernel");
            assertEquals(IoStatus.OK, Io.write(dev, 1, new byte[512], Bio.FUA));
            assertEquals(IoStatus.error(Errno.EIO, "error target: every I/O fails"), Io.read(dev, 40, ByteBuffer.allocate(512)));
            assertEquals(IoStatus.error(Errno.EIO, "error target: every I/O fails"), Io.read(dev, 30, ByteBuffer.allocate(4 * 512)),
                    "a read across into the error segment fails");
        }
        dm.load(DeviceRef.of("holes"), "0 80 error");
        dm.resume(DeviceRef.of("holes"));
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("holes"))) {
            assertEquals(IoStatus.OK, Io.flush(dev), "a table of only an error target has nothing to flush");
            assertEquals(Errno.EIO, Io.read(dev, 0, ByteBuffer.allocate(512)).errno());
        }
        dm.remove(DeviceRef.of("holes"), false);
    }

    @Test
    void flakeyDropWritesAcknowledgesWritesThatNeverReachTheDisk() throws Exception {
        Path f = patterned("dirty.img", 64);
        dm.create("dirty", "0 64 flakey " + f + " 0 0 3600 1 drop_writes");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("dirty"))) {
            assertEquals(IoStatus.OK, Io.write(dev, 0, new byte[8 * 512], Bio.FUA));
            assertEquals(IoStatus.OK, Io.flush(dev));
            ByteBuffer back = ByteBuffer.allocate(8 * 512);
            assertEquals(IoStatus.OK, Io.read(dev, 0, back), "reads still pass while down");
            assertArrayEquals(Arrays.copyOf(pattern(64), 8 * 512), back.array(), "the write vanished");
        }
        assertArrayEquals(pattern(64), Files.readAllBytes(f), "bytes on disk unchanged");

        // the same disk through a flakey that is up: writes land
        dm.load(DeviceRef.of("dirty"), "0 64 flakey " + f + " 0 3600 1 1 drop_writes");
        dm.resume(DeviceRef.of("dirty"));
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("dirty"))) {
            assertEquals(IoStatus.OK, Io.write(dev, 0, new byte[8 * 512], Bio.FUA));
        }
        byte[] expected = pattern(64);
        Arrays.fill(expected, 0, 8 * 512, (byte) 0);
        assertArrayEquals(expected, Files.readAllBytes(f), "while up the write reached the disk");
        dm.remove(DeviceRef.of("dirty"), false);
    }

    @Test
    void flakeyWithoutFeaturesFailsEverythingWhileDownAndShowsNoFeatureAsLinux61() throws Exception {
        Path f = patterned("down.img", 64);
        dm.create("down", "0 64 flakey " + f + " 0 0 3600");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("down"))) {
            assertEquals(IoStatus.error(Errno.EIO, "flakey: read failed: device is down"),
                    Io.read(dev, 0, ByteBuffer.allocate(512)));
            assertEquals(IoStatus.error(Errno.EIO, "flakey: write failed: device is down"),
                    Io.write(dev, 0, new byte[512], 0));
        }
        assertEquals("0 64 flakey " + f + " 0 0 3600 0 ", dm.table(DeviceRef.of("down"), false).get(0).toString());
        assertArrayEquals(pattern(64), Files.readAllBytes(f));
        dm.remove(DeviceRef.of("down"), false);
    }

    @Test
    void flakeyCorruptsReadsWhileDownAndLeavesTheDiskAlone() throws Exception {
        Path f = patterned("corrupt.img", 64);
        dm.create("corrupt", "0 64 flakey " + f + " 0 0 3600 5 corrupt_bio_byte 3 r 255 0");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("corrupt"))) {
            ByteBuffer back = ByteBuffer.allocate(1024);
            assertEquals(IoStatus.OK, Io.read(dev, 2, back));
            byte[] expected = Arrays.copyOfRange(pattern(64), 1024, 2048);
            expected[2] = (byte) 255;
            assertArrayEquals(expected, back.array());
        }
        assertArrayEquals(pattern(64), Files.readAllBytes(f));
        dm.remove(DeviceRef.of("corrupt"), false);
    }

    @Test
    void delayHoldsRequestsAndASuspendSendsThemOnAtOnce() throws Exception {
        Path f = patterned("slow.img", 64);
        dm.create("slow", "0 64 delay " + f + " 0 60000");
        try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("slow"))) {
            ByteBuffer back = ByteBuffer.allocate(512);
            CompletableFuture<IoStatus> read = Io.readAsync(dev, 1, back);
            Waits.await("the read to be held", () -> dm.status(DeviceRef.of("slow")).get(0).text().equals("1 0 0"));
            assertFalse(read.isDone());

            long before = System.nanoTime();
            dm.suspend(DeviceRef.of("slow"), false);
            assertEquals(IoStatus.OK, Io.get(read));
            assertTrue(System.nanoTime() - before < 10_000_000_000L, "released by the suspend, not by its 60 s delay");
            assertArrayEquals(Arrays.copyOfRange(pattern(64), 512, 1024), back.array());
            assertEquals("0 0 0", dm.status(DeviceRef.of("slow")).get(0).text());
            dm.resume(DeviceRef.of("slow"));

            dm.load(DeviceRef.of("slow"), "0 64 delay " + f + " 0 200");
            dm.resume(DeviceRef.of("slow"));
            long start = System.nanoTime();
            assertEquals(IoStatus.OK, Io.read(dev, 0, ByteBuffer.allocate(512)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 200, "a 200 ms delay took " + millis + " ms");
        }
        dm.remove(DeviceRef.of("slow"), false);
    }

    @Test
    void aFailingStripeShowsDAndRaisesEventsWithPayload() throws Exception {
        Path f = patterned("good.img", 2048);
        dm.create("bad", "0 1024 error");
        dm.create("stripes", "0 2048 striped 2 8 " + f + " 0 dm:bad 0");
        DeviceRef stripes = DeviceRef.of("stripes");
        long before = EventStream.position(dm, stripes);
        long counted = dm.info(stripes).eventNr();
        try (DeviceManager.OpenDevice dev = dm.open(stripes)) {
            assertEquals(IoStatus.OK, Io.read(dev, 0, ByteBuffer.allocate(8 * 512)), "stripe 0 works");
            assertEquals(Errno.EIO, Io.read(dev, 8, ByteBuffer.allocate(512)).errno(), "stripe 1 is the error device");
            assertEquals(Errno.EIO, Io.read(dev, 4, ByteBuffer.allocate(8 * 512)).errno(), "a read across both fails");
        }
        assertEquals("2 " + f + " dm:bad 1 AD", dm.status(stripes).get(0).text());
        List<DeviceEvent> events = dm.events(stripes, before).stream().filter(e -> e.kind() == EventKind.STRIPE_ERROR).toList();
        assertEquals(2, events.size(), "events: " + events);
        assertEquals(Map.of("stripe", "1", "device", "dm:bad", "errors", "1", "errno", "EIO"), events.get(0).details());
        assertEquals("2", events.get(1).details().get("errors"));
        assertEquals(new EventPayload.StripeError(1, "dm:bad", 2, Errno.EIO), events.get(1).payload(), "the typed payload");
        assertEquals(0, events.get(0).targetIndex());
        assertEquals(counted + 2, dm.info(stripes).eventNr(), "each stripe error moves the event number, as dm-stripe's table event");
        dm.remove(stripes, false);
        dm.remove(DeviceRef.of("bad"), false);
    }

    private static byte[] pattern(int sectors) {
        byte[] b = new byte[sectors * 512];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 7 + i / 512 + 1);
        return b;
    }

    private Path patterned(String name, int sectors) throws IOException {
        return Files.write(dir.resolve(name), pattern(sectors));
    }
}
