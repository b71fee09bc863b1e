package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.ddmapper.spi.testkit.TestTargetTypes;
import org.ddmapper.it.support.EventStream;

/** Every DeviceManager verb through the real core, in a real Felix, with the real linear and striped targets. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class VerbsTest {
    @TempDir static Path dir;
    CoreFixture fx;
    DeviceManager dm;
    TestTargetTypes.Queue queue;
    TestTargetTypes.Slow slow;
    TestTargetTypes.Record record;

    @BeforeAll
    void start() {
        fx = new CoreFixture(EmbeddedFramework.start(), dir);
        dm = fx.dm;
        queue = fx.register(new TestTargetTypes.Queue());
        slow = fx.register(new TestTargetTypes.Slow());
        record = fx.register(new TestTargetTypes.Record());
        fx.register(new TestTargetTypes.Msg());
        fx.register(new TestTargetTypes.Veto());
    }

    @AfterAll
    void stop() { fx.close(); }

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    @Test
    void loadRunsBesideLiveIoAndResumeSwapsTables() throws Exception {
        Path a = fx.file("swap-a.img", 2048);
        Path b = fx.file("swap-b.img", 2048);
        dm.create("swap", "0 2048 linear " + a + " 0");
        AtomicLong done = new AtomicLong();
        AtomicInteger errors = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean verifying = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (DeviceManager.OpenDevice dev = dm.open(ref("swap"))) {
            Future<?> io = pool.submit(() -> {
                int i = 0;
                while (!stop.get()) {
                    long sector = 8 + (i % 200) * 8L;
                    byte[] data = Io.filled(8, 1 + i % 100);
                    try {
                        boolean verify = verifying.get();
                        IoStatus w = Io.write(dev, sector, data);
                        byte[] back = Io.read(dev, sector, data.length);
                        // across the swap a write may land in one file and its read come from the other
                        if (!w.isOk() || (verify && verifying.get() && !Arrays.equals(data, back))) errors.incrementAndGet();
                    } catch (Exception | AssertionError e) {
                        errors.incrementAndGet();
                    }
                    done.incrementAndGet();
                    i++;
                }
                return null;
            });
            slow.entered = new java.util.concurrent.CountDownLatch(1);
            slow.release = new java.util.concurrent.CountDownLatch(1);
            Future<DeviceInfo> load = pool.submit(() -> dm.load(ref("swap"), "0 2048 tslow " + b + " 0"));
            assertTrue(slow.entered.await(10, TimeUnit.SECONDS), "load reached the target constructor");
            long before = done.get();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (done.get() - before <= 10 && System.nanoTime() < deadline) Thread.sleep(10);
            long during = done.get() - before;
            assertTrue(during > 10, "I/O kept completing on the live table while the load was in progress: " + during);
            assertFalse(load.isDone());
            slow.release.countDown();
            DeviceInfo loaded = load.get(10, TimeUnit.SECONDS);
            assertEquals("LIVE & INACTIVE", loaded.tablesPresent());
            assertFalse(loaded.suspended());
            assertEquals("tslow", dm.table(ref("swap"), true).get(0).type());
            assertEquals("linear", dm.table(ref("swap"), false).get(0).type());

            long eventsBefore = EventStream.position(dm, ref("swap"));
            verifying.set(false);
            DeviceInfo resumed = dm.resume(ref("swap"));
            assertEquals("LIVE", resumed.tablesPresent());
            Thread.sleep(100);
            stop.set(true);
            io.get(10, TimeUnit.SECONDS);
            assertEquals(0, errors.get(), "no I/O error across load and swap");
            List<EventKind> kinds = dm.events(ref("swap"), eventsBefore).stream().map(DeviceEvent::kind).toList();
            assertEquals(List.of(EventKind.TABLE_LIVE, EventKind.RESUMED), kinds);

            assertTrue(Io.write(dev, 0, Io.filled(1, 0x5A)).isOk());
            assertEquals(0x5A, CoreFixture.sectorOf(b, 0)[0], "after the swap, I/O reaches the new table's file");
            assertEquals(0, CoreFixture.sectorOf(a, 0)[0], "and no longer the old one's");
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
    }

    @Test
    void clearDiscardsTheInactiveTableOnly() throws Exception {
        Path a = fx.file("clear-a.img", 64);
        Path b = fx.file("clear-b.img", 64);
        dm.create("clr", "0 64 linear " + a + " 0");
        dm.load(ref("clr"), "0 64 linear " + b + " 0");
        long nr = EventStream.position(dm, ref("clr"));
        DeviceInfo info = dm.clear(ref("clr"));
        assertEquals("LIVE", info.tablesPresent());
        assertEquals(EventKind.TABLE_CLEARED, dm.events(ref("clr"), nr).get(0).kind());
        assertTrue(dm.table(ref("clr"), true).isEmpty());
        try (var dev = dm.open(ref("clr"))) {
            assertTrue(Io.write(dev, 3, Io.filled(1, 9)).isOk());
        }
        assertEquals(9, CoreFixture.sectorOf(a, 3)[0]);
        long quiet = EventStream.position(dm, ref("clr"));
        assertEquals("ACTIVE", dm.resume(ref("clr")).state(), "resuming an active device with nothing loaded changes nothing");
        assertEquals(quiet, EventStream.position(dm, ref("clr")));
    }

    @Test
    void noflushSuspendHoldsQueuedIoAndReplaysItOnTheNextTable() throws Exception {
        Path f = fx.file("queue.img", 256);
        queue.holding = true;
        dm.create("q", "0 256 tqueue " + f);
        List<CompletableFuture<IoStatus>> writes = new ArrayList<>();
        try (var dev = dm.open(ref("q"))) {
            for (int i = 0; i < 5; i++) writes.add(Io.writeAsync(dev, i * 8L, Io.filled(8, 10 + i), 0));
            Thread.sleep(100);
            assertTrue(writes.stream().noneMatch(CompletableFuture::isDone), "the target queues them");

            DeviceInfo suspended = dm.suspend(ref("q"), true);
            assertTrue(suspended.suspended());
            assertEquals(5, suspended.heldRequests(), "the target handed its queue back to the core");
            writes.add(Io.writeAsync(dev, 100, Io.filled(8, 99), 0));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (dm.info(ref("q")).heldRequests() < 6 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(6, dm.info(ref("q")).heldRequests(), "new I/O to a suspended device waits");
            assertTrue(writes.stream().noneMatch(CompletableFuture::isDone));

            dm.load(ref("q"), "0 256 linear " + f + " 0");
            long nr = EventStream.position(dm, ref("q"));
            dm.resume(ref("q"));
            for (CompletableFuture<IoStatus> w : writes) assertTrue(w.get(10, TimeUnit.SECONDS).isOk(), "replayed write");
            for (int i = 0; i < 5; i++) assertEquals(10 + i, CoreFixture.sectorOf(f, i * 8L)[0]);
            assertEquals(99, CoreFixture.sectorOf(f, 100)[0]);
            DeviceEvent resumed = dm.events(ref("q"), nr).stream().filter(e -> e.kind() == EventKind.RESUMED).findFirst().orElseThrow();
            assertEquals("6", resumed.details().get("replayed"));
            assertEquals(0, dm.info(ref("q")).heldRequests());
        }
    }

    @Test
    void suspendMakesNewIoWaitUntilResume() throws Exception {
        Path f = fx.file("susp.img", 64);
        dm.create("susp", "0 64 linear " + f + " 0");
        try (var dev = dm.open(ref("susp"))) {
            dm.suspend(ref("susp"), false);
            assertEquals("SUSPENDED", dm.info(ref("susp")).state());
            CompletableFuture<IoStatus> r = Io.readAsync(dev, 0, ByteBuffer.allocate(512));
            Thread.sleep(200);
            assertFalse(r.isDone(), "I/O to a suspended device waits, it does not fail");
            dm.resume(ref("susp"));
            assertTrue(r.get(10, TimeUnit.SECONDS).isOk());
            assertEquals("ACTIVE", dm.info(ref("susp")).state());
        }
    }

    @Test
    void removeRefusesOpenDevicesAndHeldIoUnlessForced() throws Exception {
        Path f = fx.file("rm.img", 64);
        dm.create("rm", "0 64 linear " + f + " 0");
        DeviceManager.OpenDevice h = dm.open(ref("rm"));
        DmException open = assertThrows(DmException.class, () -> dm.remove(ref("rm"), false));
        assertEquals(Errno.EBUSY, open.errno());
        assertTrue(open.getMessage().startsWith("device 'rm' is open (1 opener)"), open.getMessage());
        assertEquals(1, dm.info(ref("rm")).openCount());

        dm.suspend(ref("rm"), false);
        CompletableFuture<IoStatus> held = Io.writeAsync(h, 0, Io.filled(1, 1), 0);
        DeviceManager.OpenDevice stale = dm.open(ref("rm"));
        stale.close();
        DeviceManager.OpenDevice later = dm.open(ref("rm"));
        h.close();
        later.close();
        Waits.await("held request", () -> dm.info(ref("rm")).heldRequests() == 1);
        DmException busy = assertThrows(DmException.class, () -> dm.remove(ref("rm"), false));
        assertTrue(busy.getMessage().startsWith("device 'rm' holds 1 requests waiting for a resume"), busy.getMessage());

        DeviceManager.OpenDevice survivor = dm.open(ref("rm"));
        dm.remove(ref("rm"), true);
        IoStatus failed = held.get(10, TimeUnit.SECONDS);
        assertEquals(Errno.ENODEV, failed.errno());
        assertTrue(failed.message().contains("removed by force"), failed.message());
        assertTrue(dm.list().stream().noneMatch(i -> i.name().equals("rm")));
        IoStatus after = Io.write(survivor, 0, Io.filled(1, 1));
        assertEquals(Errno.ENODEV, after.errno(), "I/O through a handle of a removed device fails with ENODEV");
        survivor.close();

        dm.create("rm", "0 64 linear " + f + " 0");
        try (var fresh = dm.open(ref("rm"))) {
            assertTrue(Io.write(fresh, 0, Io.filled(1, 2)).isOk());
        }
        assertEquals(Errno.ENODEV, Io.write(survivor, 0, Io.filled(1, 1)).errno(), "an old handle never reaches the new instance");
        dm.remove(ref("rm"), false);
    }

    @Test
    void renameKeepsOpenHandlesAndRefusesTakenNames() throws Exception {
        Path f = fx.file("ren.img", 64);
        DeviceInfo created = dm.create("ren-old", "0 64 linear " + f + " 0");
        dm.create("ren-taken", "");
        try (var h = dm.open(ref("ren-old"))) {
            DeviceInfo renamed = dm.rename(ref("ren-old"), "ren-new");
            assertEquals(created.id(), renamed.id());
            assertEquals("ren-new", h.name());
            assertTrue(Io.write(h, 1, Io.filled(1, 4)).isOk());
            DmException gone = assertThrows(DmException.class, () -> dm.info(ref("ren-old")));
            assertEquals(Errno.ENXIO, gone.errno());
            assertEquals("no device named 'ren-old'", gone.getMessage());
            DeviceEvent ev = dm.events(ref("ren-new"), 0).stream().filter(e -> e.kind() == EventKind.RENAMED).findFirst().orElseThrow();
            assertEquals(Map.of("from", "ren-old", "to", "ren-new"), ev.details());
            DmException taken = assertThrows(DmException.class, () -> dm.rename(ref("ren-new"), "ren-taken"));
            assertEquals(Errno.EBUSY, taken.errno(), "as the kernel answers a name in use");
            DmException bad = assertThrows(DmException.class, () -> dm.rename(ref("ren-new"), "a b"));
            assertTrue(bad.getMessage().startsWith("invalid device name 'a\\ b'"), bad.getMessage());
            assertEquals("ren-new", dm.info(DeviceRef.id(created.id())).name());
        }
        assertEquals(4, CoreFixture.sectorOf(f, 1)[0]);
    }

    @Test
    void stackedDevicesRouteThroughEachLevelAndRefuseCycles() throws Exception {
        Path f = fx.file("stack.img", 2048);
        dm.create("st-base", "0 2048 linear " + f + " 0");
        dm.create("st-mid", "0 1024 linear dm:st-base 512");
        dm.create("st-top", "0 512 linear dm:st-mid 256");
        try (var top = dm.open(ref("st-top"))) {
            assertTrue(Io.write(top, 3, Io.filled(1, 0x33)).isOk());
            assertArrayEquals(Io.filled(1, 0x33), Io.read(top, 3, 512));
        }
        assertEquals(0x33, CoreFixture.sectorOf(f, 512 + 256 + 3)[0], "dm: on dm: lands at the summed offsets");
        assertEquals(List.of("dm:st-mid"), dm.deps(ref("st-top")));
        assertEquals(1, dm.info(ref("st-base")).openCount());

        DeviceInfo before = dm.info(ref("st-base"));
        DmException cycle = assertThrows(DmException.class, () -> dm.load(ref("st-base"), "0 256 linear dm:st-top 0"));
        assertEquals("line 1: linear: 'dm:st-top': stacking st-base on st-top would make a cycle: st-top -> st-mid -> st-base -> st-top",
                cycle.getMessage());
        DmException self = assertThrows(DmException.class, () -> dm.load(ref("st-base"), "0 256 linear dm:st-base 0"));
        assertEquals("line 1: linear: 'dm:st-base': a device cannot stack on itself", self.getMessage());
        assertEquals(before, dm.info(ref("st-base")), "refused loads change nothing");
        assertEquals(0, dm.info(ref("st-top")).openCount(), "the refused load closed the dm:st-top it had opened");

        DmException busy = assertThrows(DmException.class, () -> dm.remove(ref("st-base"), false));
        assertEquals(Errno.EBUSY, busy.errno());
        DmException renameBusy = assertThrows(DmException.class, () -> dm.rename(ref("st-base"), "st-other"));
        assertTrue(renameBusy.getMessage().contains("used by 'st-mid' as dm:st-base"), renameBusy.getMessage());
        dm.remove(ref("st-top"), false);
        dm.remove(ref("st-mid"), false);
        assertEquals(0, dm.info(ref("st-base")).openCount());
        dm.remove(ref("st-base"), false);
    }

    @Test
    void flushReachesEveryStripe() throws Exception {
        List<String> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path p = fx.file("stripe" + i + ".img", 2048);
            files.add(p.toString());
            dm.create("leg" + i, "0 2048 trecord " + p);
        }
        dm.create("stripes", "0 6144 striped 3 8 dm:leg0 0 dm:leg1 0 dm:leg2 0");
        try (var dev = dm.open(ref("stripes"))) {
            assertTrue(Io.write(dev, 0, Io.filled(24, 7)).isOk());
            int[] before = files.stream().mapToInt(record::flushesOf).toArray();
            assertTrue(Io.flush(dev).isOk());
            for (int i = 0; i < 3; i++)
                assertEquals(before[i] + 1, record.flushesOf(files.get(i)), "stripe " + i + " made the flush durable");
        }
        for (int i = 0; i < 3; i++) assertEquals(7, CoreFixture.sectorOf(Path.of(files.get(i)), 0)[0], "stripe " + i + " got its chunk");
    }

    @Test
    void flushAndSplitRequestsAcrossTargetsOfOneTable() throws Exception {
        Path f = fx.file("split.img", 64);
        Path g = fx.file("split-rec.img", 64);
        dm.create("split", "0 16 linear " + f + " 0\n16 16 trecord " + g + "\n32 32 linear " + f + " 32");
        try (var dev = dm.open(ref("split"))) {
            byte[] data = new byte[64 * 512];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i / 512);
            assertTrue(Io.write(dev, 0, data).isOk(), "one request over three targets");
            assertArrayEquals(data, Io.read(dev, 0, data.length));
            assertArrayEquals(Arrays.copyOfRange(data, 16 * 512, 17 * 512), CoreFixture.sectorOf(g, 0));
            assertEquals(40, CoreFixture.sectorOf(f, 40)[0]);
            int before = record.flushesOf(g.toString());
            assertTrue(Io.flush(dev).isOk());
            assertEquals(before + 1, record.flushesOf(g.toString()));
            ByteBuffer past = ByteBuffer.allocate(1024);
            assertEquals(Errno.EINVAL, Io.readAsync(dev, 63, past).get(10, TimeUnit.SECONDS).errno(), "a read past the end");
            assertEquals(Errno.ENOSPC, Io.write(dev, 64, Io.filled(1, 1)).errno(), "a write past the end");
        }
    }

    @Test
    void messagesGoToTheAddressedTargetOrAreRefused() throws Exception {
        Path f = fx.file("msg.img", 128);
        dm.create("msg", "0 100 tmsg\n100 100 linear " + f + " 0");
        assertEquals("a b", dm.message(ref("msg"), TargetRef.parse("@0"), Message.of("echo", "a", "b")));
        assertEquals("c", dm.message(ref("msg"), TargetRef.parse("99"), Message.of("echo", "c")));
        DmException none = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("150"), Message.of("x")));
        assertEquals("target 1 (linear) of device 'msg' takes no messages", none.getMessage());
        DmException index = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("@5"), Message.of("x")));
        assertEquals("device 'msg' has no target @5 (it has 2)", index.getMessage());
        DmException beyond = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("200"), Message.of("x")));
        assertEquals("sector 200 lies beyond device 'msg' (200 sectors)", beyond.getMessage());
        DmException verb = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("@0"), Message.of("nope")));
        assertEquals("tmsg: unknown message 'nope'", verb.getMessage());
        long nr = EventStream.position(dm, ref("msg"));
        DmException smuggled = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("@0"), Message.of("echo", "a\nremove x")));
        assertEquals("control character 0xa in message", smuggled.getMessage());
        DmException empty = assertThrows(DmException.class, () -> dm.message(ref("msg"), TargetRef.parse("@0"), Message.of()));
        assertEquals("empty message", empty.getMessage());
        DmException huge = assertThrows(DmException.class,
                () -> dm.message(ref("msg"), TargetRef.parse("@0"), Message.of("echo", "x".repeat(70_000))));
        assertEquals("message longer than 65536 characters", huge.getMessage());
        DmException gone = assertThrows(DmException.class, () -> dm.message(DeviceRef.of("nosuch"), TargetRef.parse("@0"), Message.of("x")));
        assertEquals("no device named 'nosuch'", gone.getMessage());
        assertEquals(nr, EventStream.position(dm, ref("msg")), "refused messages change nothing");
    }

    @Test
    void eventsAreCountedRememberedWaitedForAndDelivered() throws Exception {
        List<DeviceEvent> heard = new CopyOnWriteArrayList<>();
        List<DeviceEvent> whiteboard = new CopyOnWriteArrayList<>();
        var throwing = fx.fw.context().registerService(DeviceEventListener.class, e -> { throw new IllegalStateException("listener bug"); },
                new Hashtable<>());
        var good = fx.fw.context().registerService(DeviceEventListener.class, whiteboard::add, new Hashtable<>());
        try {
            Path f = fx.file("ev.img", 64);
            DeviceInfo info = dm.create("ev", "0 64 linear " + f + " 0");
            CompletableFuture<Long> waited;
            try (AutoCloseable sub = dm.subscribe(ref("ev"), heard::add)) {
                assertEquals(0, info.eventNr(), "create, load and resume are not counted, as in the kernel");
                waited = CompletableFuture.supplyAsync(() -> {
                    try {
                        return dm.waitEvent(ref("ev"), 0, 10_000);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                dm.suspend(ref("ev"), false);
                dm.resume(ref("ev"));
                Thread.sleep(100);
                assertFalse(waited.isDone(), "wait blocks until the event number moves; suspend and resume do not move it");
                assertEquals(0, dm.info(ref("ev")).eventNr());
            }
            dm.rename(ref("ev"), "ev2");
            assertEquals(1, waited.get(10, TimeUnit.SECONDS), "a rename moves it, as in the kernel");
            assertEquals(1, dm.waitEvent(ref("ev2"), 0, 0));
            assertEquals(List.of(EventKind.SUSPENDED, EventKind.RESUMED), heard.stream().map(DeviceEvent::kind).toList(),
                    "a subscription ends when closed");
            List<DeviceEvent> all = dm.events(ref("ev2"), 0);
            assertEquals(List.of(EventKind.CREATED, EventKind.TABLE_LOADED, EventKind.TABLE_LIVE, EventKind.RESUMED, EventKind.SUSPENDED,
                    EventKind.RESUMED, EventKind.RENAMED), all.stream().map(DeviceEvent::kind).toList());
            for (int i = 0; i < all.size(); i++) assertEquals(i + 1, all.get(i).eventNr());
            assertEquals("ev2 7 renamed from=ev to=ev2", all.get(6).toLine());
            assertTrue(whiteboard.stream().anyMatch(e -> e.kind() == EventKind.RENAMED && e.device().equals("ev2")),
                    "whiteboard listeners hear every device, a throwing one does not stop them");
            try (var dev = dm.open(ref("ev2"))) {
                assertTrue(Io.write(dev, 0, Io.filled(1, 1)).isOk(), "a throwing listener does not hurt the device");
            }
        } finally {
            throwing.unregister();
            good.unregister();
        }
    }

    @Test
    void targetsRaiseCountedEventsWithTheirIndex() throws Exception {
        Path f = fx.file("tev.img", 64);
        dm.create("tev", "0 32 linear " + f + " 0\n32 32 tmsg");
        long nr = EventStream.position(dm, ref("tev"));
        long counted = dm.info(ref("tev")).eventNr();
        assertEquals("", dm.message(ref("tev"), TargetRef.parse("@1"), Message.of("event", "hello")));
        assertEquals(counted + 1, dm.info(ref("tev")).eventNr(), "a target's event moves the event number, as dm_table_event does");
        List<DeviceEvent> events = dm.events(ref("tev"), nr);
        assertEquals(1, events.size());
        assertEquals(nr + 1, events.get(0).eventNr());
        assertEquals("tev " + (nr + 1) + " target_event target=1 said=hello", events.get(0).toLine());
    }

    @Test
    void oversizedRequestsAndRemovedDevicesAreRefused() throws Exception {
        Path big = dir.resolve("big.img");
        try (var raf = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            raf.setLength(40L << 20);
        }
        long sectors = (40L << 20) / 512;
        dm.create("big", "0 " + sectors + " linear " + big + " 0");
        try (var dev = dm.open(ref("big"))) {
            IoStatus s = Io.readAsync(dev, 0, ByteBuffer.allocate((32 << 20) + 512)).get(10, TimeUnit.SECONDS);
            assertEquals(Errno.EINVAL, s.errno());
            assertEquals("request of 33554944 bytes exceeds the limit of 33554432", s.message());
            assertTrue(Io.readAsync(dev, 0, ByteBuffer.allocate(32 << 20)).get(10, TimeUnit.SECONDS).isOk(), "32 MiB is allowed");
            assertTrue(Io.readAsync(dev, 0, ByteBuffer.allocate(0)).get(10, TimeUnit.SECONDS).isOk(), "a zero-length read succeeds");
        }
        dm.remove(ref("big"), false);
        DmException open = assertThrows(DmException.class, () -> dm.open(ref("big")));
        assertEquals(Errno.ENXIO, open.errno());
    }

    @Test
    void eventHistoryIsBounded() throws Exception {
        dm.create("evring", "");
        for (int i = 0; i < 300; i++) {
            dm.suspend(ref("evring"), false);
            dm.resume(ref("evring"));
        }
        List<DeviceEvent> events = dm.events(ref("evring"), 0);
        assertEquals(256, events.size());
        assertEquals(601, events.get(events.size() - 1).eventNr());
        assertEquals(346, events.get(0).eventNr());
        assertEquals(List.of(), dm.events(ref("evring"), 601));
        assertEquals(0, dm.info(ref("evring")).eventNr(), "600 suspends and resumes: the kernel counts none");
    }

    @Test
    void preresumeVetoKeepsTheOldTableServing() throws Exception {
        Path f = fx.file("veto.img", 64);
        dm.create("veto", "0 64 linear " + f + " 0");
        dm.load(ref("veto"), "0 64 tveto");
        DmException e = assertThrows(DmException.class, () -> dm.resume(ref("veto")));
        assertEquals("resume of 'veto' refused: target 0 (tveto) refused to resume: on-disk metadata says no", e.getMessage());
        DeviceInfo info = dm.info(ref("veto"));
        assertFalse(info.suspended());
        assertEquals("LIVE & INACTIVE", info.tablesPresent());
        try (var dev = dm.open(ref("veto"))) {
            assertTrue(Io.write(dev, 2, Io.filled(1, 6)).isOk());
        }
        assertEquals(6, CoreFixture.sectorOf(f, 2)[0]);
        DmException create = assertThrows(DmException.class, () -> dm.create("veto2", "0 64 tveto"));
        assertTrue(create.getMessage().contains("on-disk metadata says no"));
        assertTrue(dm.list().stream().noneMatch(i -> i.name().equals("veto2")), "a vetoed create leaves no device");
    }

    @Test
    void singletonTypesMustBeAlone() throws Exception {
        Path f = fx.file("single.img", 64);
        DmException e = assertThrows(DmException.class, () -> dm.create("single", "0 10 linear " + f + " 0\n10 10 tveto"));
        assertEquals("line 2: target type 'tveto' must be the only target in its table", e.getMessage());
        assertTrue(dm.list().stream().noneMatch(i -> i.name().equals("single")));
    }

    @Test
    void queriesShowTablesStatusDepsTargetsAndInfo() throws Exception {
        Path f = fx.file("q1.img", 256);
        Path g = fx.file("q2.img", 256);
        String table = "0 100 linear " + f + " 28\n100 128 striped 2 8 " + f + " 128 " + g + " 0";
        DeviceInfo info = dm.create("query", table);
        assertEquals(228, info.sizeSectors());
        assertEquals(2, info.targetCount());
        List<TargetStatus> lines = dm.table(ref("query"), false);
        assertEquals(table, String.join("\n", lines.stream().map(TargetStatus::toString).toList()), "table output parses back to the table");
        dm.load(ref("query"), String.join("\n", lines.stream().map(TargetStatus::toString).toList()));
        assertEquals(lines, dm.table(ref("query"), true));
        assertEquals(List.of(g.toString(), f.toString()), dm.deps(ref("query")), "each device once, the one first used last first, as the kernel lists them");
        assertEquals(2, dm.status(ref("query")).size());
        TargetTypeInfo linear = dm.targets().stream().filter(t -> t.name().equals("linear")).findFirst().orElseThrow();
        assertTrue(linear.bundle().startsWith("org.ddmapper.target.linear"), linear.bundle());
        assertTrue(linear.version().matches("\\d+\\.\\d+\\.\\d+"));
        assertTrue(dm.list().stream().anyMatch(i -> i.name().equals("query") && i.id() == info.id()));
        assertEquals(info.id(), dm.info(DeviceRef.id(info.id())).id());
        DmException none = assertThrows(DmException.class, () -> dm.info(DeviceRef.id(999_999)));
        assertEquals("no device #999999", none.getMessage());
    }

    @Test
    void createRefusesDuplicateAndInvalidNames() {
        dm.create("dup", "");
        DmException dup = assertThrows(DmException.class, () -> dm.create("dup", ""));
        assertEquals(Errno.EBUSY, dup.errno(), "as the kernel answers a name in use");
        assertEquals("device 'dup' already exists", dup.getMessage());
        for (String bad : List.of("", "-x", "a/b", "a\u0001b", "x".repeat(128), "ü")) {
            DmException e = assertThrows(DmException.class, () -> dm.create(bad, ""), bad);
            assertEquals(Errno.EINVAL, e.errno());
        }
    }

    @Test
    void bioCompletesExactlyOnceEvenWhenSplit() throws Exception {
        Path f = fx.file("once.img", 64);
        dm.create("once", "0 8 linear " + f + " 0\n8 8 linear " + f + " 8\n16 48 linear " + f + " 16");
        AtomicInteger completions = new AtomicInteger();
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        try (var dev = dm.open(ref("once"))) {
            dev.submit(Bio.write(4, ByteBuffer.wrap(new byte[20 * 512]), Bio.FUA, s -> {
                completions.incrementAndGet();
                done.complete(s);
            }));
            assertTrue(done.get(10, TimeUnit.SECONDS).isOk());
            Thread.sleep(50);
            assertEquals(1, completions.get());
        }
    }
}
