package org.ddmapper.targets.mirror.internal;

import static org.ddmapper.targets.mirror.internal.MirrorRig.await;
import static org.ddmapper.targets.mirror.internal.MirrorRig.info;
import static org.ddmapper.targets.mirror.internal.MirrorRig.pattern;
import static org.ddmapper.targets.mirror.internal.MirrorRig.read;
import static org.ddmapper.targets.mirror.internal.MirrorRig.write;
import static org.ddmapper.targets.mirror.internal.MirrorRig.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Leg and log failures: what the write returns, the status characters, the events, and what the log remembers. */
@Timeout(60)
class MirrorFailureTest {
    private final MirrorRig rig = new MirrorRig();

    @AfterEach
    void close() { rig.close(); }

    private List<EventPayload> events(EventKind kind) {
        return rig.events().stream().filter(e -> e.kind() == kind).toList();
    }

    @Test
    void withHandleErrorsALegThatFailsAWriteIsOutAndTheMirrorGoesOn() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.b.failWrites = Errno.ENOTCONN;
        assertEquals(IoStatus.OK, write(m, 24, pattern(8, 1)), "the write is acknowledged: leg a has it");
        assertEquals("2 /a /b 127/128 1 AD 3 disk /log A", info(m));
        assertEquals(List.of(new EventPayload.MirrorLegFailed(1, "/b", "D", "ENOTCONN: /b: scripted write failure")),
                events(EventKind.MIRROR_LEG_FAILED));
        // the log names /b stale before that write was acknowledged
        assertEquals(List.of(DiskLogFormat.legHash("/b")), DiskLogFormat.staleLegs(ByteBuffer.wrap(rig.log.memory.contents(0, 3))));
        // later writes go to a only; every region written stays dirty, also after a suspend
        rig.b.failWrites = null;
        int bWrites = rig.b.memory.requests(BioOp.WRITE).size();
        assertEquals(IoStatus.OK, write(m, 80, pattern(8, 2)));
        assertEquals(bWrites, rig.b.memory.requests(BioOp.WRITE).size());
        assertEquals("2 /a /b 126/128 1 AD 3 disk /log A", info(m));
        assertArrayEquals(pattern(8, 2), read(m, 80, 8));
        MirrorRig.suspend(m);
        assertFalse(rig.cleanOnDisk(3));
        assertFalse(rig.cleanOnDisk(10));
        assertTrue(rig.cleanOnDisk(4));
        assertEquals(1, events(EventKind.MIRROR_LEG_FAILED).size(), "one event per leg and kind of failure");
    }

    @Test
    void withoutHandleErrorsAFailingLegStaysInTheMirrorAndNoEventIsRaised() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0");
        rig.b.failWrites = Errno.EIO;
        assertEquals(IoStatus.OK, write(m, 24, pattern(8, 1)));
        assertEquals("2 /a /b 127/128 1 AD 1 core", info(m));
        assertTrue(events(EventKind.MIRROR_LEG_FAILED).isEmpty(), "the kernel raises no event without handle_errors");
        int bWrites = rig.b.writesSubmitted.get();
        assertEquals(IoStatus.OK, write(m, 80, pattern(8, 2)));
        assertTrue(rig.b.writesSubmitted.get() > bWrites, "leg b still gets writes");
        // the region the failed write hit is read from the default leg, which has it
        for (int i = 0; i < 4; i++) assertArrayEquals(pattern(8, 1), read(m, 24, 8));
    }

    @Test
    void aDefaultLegThatFailsAWriteIsNoLongerReadOrCopiedFromEvenWithoutHandleErrors() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0");
        rig.a.failWrites = Errno.EIO;
        assertEquals(IoStatus.OK, write(m, 40, pattern(8, 3)));
        assertEquals("2 /a /b 127/128 1 DA 1 core", info(m));
        // the region is out of sync; its data is on /b only, and reads get it from there
        for (int i = 0; i < 4; i++) assertArrayEquals(pattern(8, 3), read(m, 40, 8));
        assertEquals(0, rig.a.memory.requests(BioOp.READ).size());
        // once /a takes writes again, the resync copies the region from /b to /a
        rig.a.failWrites = null;
        m.message(org.ddmapper.api.Message.of("resync_rate", "0"));
        m.resync().start();
        MirrorRig.awaitInSync(m);
        assertArrayEquals(pattern(8, 3), rig.a.memory.contents(40, 8));
        assertTrue(MirrorRig.sameContents(rig.a, rig.b));
    }

    /** The rig's context, but "nbd://down/" answers as a server that is not there. */
    private org.ddmapper.spi.TableArgs argsWithALegDown(String words) {
        return new org.ddmapper.spi.TableArgs("mirror", org.ddmapper.api.TableLine.splitWords(words), ref -> {
            if (ref.equals("nbd://down/")) throw new org.ddmapper.api.DmException(Errno.ECONNREFUSED, "nbd://down/: connection refused");
            return rig.context.openDevice(ref);
        });
    }

    @Test
    void aRemoteLegThatIsDownAtLoadIsAFailedLegWithHandleErrorsAndRefusedWithout() {
        Mirror m = Mirror.create(rig.context, argsWithALegDown("core 2 8 nosync 2 nbd://down/ 0 /b 0 1 handle_errors"));
        m.preresume();
        m.resume();
        assertEquals("2 nbd://down/ /b 128/128 1 DA 1 core", info(m));
        assertEquals(List.of(new EventPayload.MirrorLegFailed(0, "nbd://down/", "D", "the leg's device could not be opened")),
                events(EventKind.MIRROR_LEG_FAILED));
        assertEquals(IoStatus.OK, write(m, 0, pattern(1, 1)));
        assertArrayEquals(pattern(1, 1), read(m, 0, 1));
        assertEquals("mirror: Device lookup failure: nbd://down/: connection refused", assertThrows(org.ddmapper.spi.TableException.class,
                () -> Mirror.create(rig.context, argsWithALegDown("core 2 8 nosync 2 nbd://down/ 0 /b 0"))).getMessage());
        assertEquals(Errno.ECONNREFUSED, assertThrows(org.ddmapper.spi.TableException.class,
                () -> Mirror.create(rig.context, argsWithALegDown("core 2 8 nosync 2 nbd://down/ 0 nbd://down/ 0 1 handle_errors"))).errno());
    }

    @Test
    void aWriteFailsOnlyWhenEveryLegFailedIt() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.a.failWrites = Errno.EIO;
        rig.b.failWrites = Errno.ENOSPC;
        IoStatus s = write(m, 0, pattern(1, 1));
        assertEquals(Errno.EIO, s.errno());
        assertEquals("2 /a /b 127/128 1 DD 1 core", info(m));
        IoStatus next = write(m, 8, pattern(1, 1));
        assertEquals("EIO: mirror: no leg left to write to", next.toString());
    }

    @Test
    void aReadErrorIsRetriedOnAnotherLegAndMarksTheLegR() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0 1 handle_errors");
        assertEquals(IoStatus.OK, write(m, 0, pattern(8, 7)));
        rig.a.failReads = Errno.EIO;
        for (int i = 0; i < 5; i++) assertArrayEquals(pattern(8, 7), read(m, 0, 8), "read " + i);
        assertEquals("2 /a /b 128/128 1 RA 1 core", info(m));
        assertEquals(List.of(new EventPayload.MirrorLegFailed(0, "/a", "R", "EIO: /a: scripted read failure")),
                events(EventKind.MIRROR_LEG_FAILED));
        int aWrites = rig.a.memory.requests(BioOp.WRITE).size();
        assertEquals(IoStatus.OK, write(m, 8, pattern(1, 1)));
        assertEquals(aWrites + 1, rig.a.memory.requests(BioOp.WRITE).size(), "a read error leaves the leg in the mirror");
    }

    @Test
    void aReadErrorWithNoOtherCopyIsReturned() {
        Mirror m = Mirror.create(rig.context, rig.context.args("mirror", "core 1 8 2 /a 0 /b 0"));
        m.preresume(); // every region out of sync: only /a holds the data
        rig.a.failReads = Errno.EIO;
        Completion done = new Completion();
        m.map(Bio.read(0, ByteBuffer.allocate(512), done));
        assertEquals("EIO: /a: scripted read failure", done.get().toString());
        assertEquals(0, rig.b.memory.requests(BioOp.READ).size());
    }

    @Test
    void aFailedLogWriteLeavesTheMirrorServingWithoutHandleErrors() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        rig.log.failWrites = Errno.EIO;
        assertEquals(IoStatus.OK, write(m, 0, pattern(1, 1)));
        assertEquals(IoStatus.OK, write(m, 64, pattern(1, 2)));
        assertEquals("2 /a /b 128/128 1 AA 3 disk /log D", info(m));
        assertEquals(List.of(new EventPayload.MirrorLogFailed("/log", "D", "EIO: /log: scripted write failure")),
                events(EventKind.MIRROR_LOG_FAILED));
    }

    @Test
    void aFailedLogFlushIsF() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        rig.log.failFlushes = Errno.EIO;
        assertEquals(IoStatus.OK, write(m, 0, pattern(1, 1)));
        assertEquals("2 /a /b 128/128 1 AA 3 disk /log F", info(m));
    }

    @Test
    void withHandleErrorsWritesWaitForAFailedLogUntilASuspendEndsThem() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.log.failWrites = Errno.EIO;
        Completion held = writeAsync(m, 0, pattern(1, 1));
        await("the log failed", () -> info(m).endsWith(" D"));
        Completion alsoHeld = writeAsync(m, 0, pattern(1, 2)); // its region is dirty already: held all the same
        assertFalse(held.isDone() || alsoHeld.isDone());
        assertEquals(0, rig.a.memory.requests(BioOp.WRITE).size(), "nothing reached a leg");
        m.presuspend(true);
        assertEquals(IoStatus.REQUEUE, held.get(), "a noflush suspend hands held writes back to the core");
        assertEquals(IoStatus.REQUEUE, alsoHeld.get());
        Completion third = writeAsync(m, 8, pattern(1, 3));
        m.presuspend(false);
        assertEquals(Errno.EIO, third.get().errno(), "a flush suspend fails them");
    }

    @Test
    void blockOnErrorHoldsWritesToo() {
        Mirror m = rig.start("disk 4 /log 8 nosync block_on_error 2 /a 0 /b 0");
        rig.log.failWrites = Errno.EIO;
        Completion held = writeAsync(m, 0, pattern(1, 1));
        await("the log failed", () -> info(m).endsWith(" D"));
        assertFalse(held.isDone());
        m.presuspend(true);
        assertEquals(IoStatus.REQUEUE, held.get());
    }

    @Test
    void keepLogFailsWritesOnceTheLogFailed() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0 2 handle_errors keep_log");
        rig.log.failWrites = Errno.EIO;
        IoStatus s = write(m, 0, pattern(1, 1));
        assertEquals("EIO: mirror log device '/log' failed (keep_log)", s.toString());
        assertEquals(0, rig.a.memory.requests(BioOp.WRITE).size());
    }

    @Test
    void aLogThatCannotBeReadAtResumeIsFailedAndEveryRegionResynced() {
        rig.log.failReads = Errno.EIO;
        Mirror m = rig.start("disk 2 /log 8 2 /a 0 /b 0 1 handle_errors");
        MirrorRig.awaitInSync(m);
        assertTrue(info(m).endsWith("3 disk /log D"), info(m));
        assertEquals(List.of(new EventPayload.MirrorRecoveryComplete(128)), events(EventKind.MIRROR_RECOVERY_COMPLETE));
        assertEquals("D", rig.events().stream().filter(e -> e.kind() == EventKind.MIRROR_LOG_FAILED).findFirst().orElseThrow()
                .details().get("state"));
    }

    @Test
    void aLogOfAnotherVersionIsFailedAndLeftAsItIs() {
        byte[] header = new byte[512];
        ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, DiskLogFormat.MAGIC).putInt(4, 3).putLong(8, 128);
        rig.log.memory.store(0, header);
        Mirror m = rig.start("disk 2 /log 8 2 /a 0 /b 0");
        MirrorRig.awaitInSync(m);
        assertTrue(info(m).endsWith(" D"), info(m));
        assertEquals(Map.of("device", "/log", "state", "D", "error", "EINVAL: incompatible disk log version 3"),
                rig.events().stream().filter(e -> e.kind() == EventKind.MIRROR_LOG_FAILED).findFirst().orElseThrow().details());
        assertArrayEquals(header, rig.log.memory.contents(0, 1), "the log device is not written");
        assertEquals(0, rig.log.memory.requests(BioOp.WRITE).size());
    }

    @Test
    void aLegFailingAFlushIsOutWithHandleErrors() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.b.failFlushes = Errno.EIO;
        Completion done = new Completion();
        m.map(Bio.flush(done));
        assertEquals(IoStatus.OK, done.get());
        assertEquals("2 /a /b 128/128 1 AD 1 core", info(m));
        assertEquals(IoStatus.OK, write(m, 0, pattern(1, 1)));
        assertEquals(0, rig.b.memory.requests(BioOp.WRITE).size());
    }

    @Test
    void aHandedOverMirrorKeepsItsFailedLogAsItWasWithoutASecondEvent() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.log.failFlushes = Errno.EIO;
        Completion held = writeAsync(m, 0, pattern(1, 1));
        await("the log flush failed", () -> info(m).endsWith(" F"));
        m.presuspend(true);
        assertEquals(IoStatus.REQUEUE, held.get());
        m.postsuspend();
        var state = m.exportState().orElseThrow();
        m.destroy();
        Mirror next = Mirror.create(rig.context, rig.context.args("mirror", "disk 3 /log 8 nosync 2 /a 0 /b 0 1 handle_errors"));
        next.importState(state);
        next.preresume();
        next.resume();
        assertTrue(info(next).endsWith(" F"), info(next));
        assertEquals(1, events(EventKind.MIRROR_LOG_FAILED).size(), "announced once, by the first version");
        Completion stillHeld = writeAsync(next, 8, pattern(1, 2));
        assertFalse(stillHeld.isDone(), "the same policy: writes wait for a failed log with handle_errors");
        next.presuspend(true);
        assertEquals(IoStatus.REQUEUE, stillHeld.get());
    }

    @Test
    void aHandedOverMirrorKeepsItsLegOutAndItsRegionsOutOfSync() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.b.failWrites = Errno.EIO;
        assertEquals(IoStatus.OK, write(m, 0, pattern(1, 1)));
        rig.b.failWrites = null;
        MirrorRig.suspend(m);
        var state = m.exportState().orElseThrow();
        m.destroy();
        Mirror next = Mirror.create(rig.context, rig.context.args("mirror", "core 2 8 nosync 2 /a 0 /b 0 1 handle_errors"));
        next.importState(state);
        next.preresume();
        next.resume();
        assertEquals("2 /a /b 127/128 1 AD 1 core", info(next));
        assertEquals(IoStatus.OK, write(next, 8, pattern(1, 1)));
        assertEquals(0, rig.b.memory.requests(BioOp.WRITE).size(), "the leg that was out stays out");
        // a state from a mirror over other legs is not taken
        Mirror other = Mirror.create(new FakeTargetContext(MirrorRig.LENGTH, rig.a, rig.c),
                new FakeTargetContext(MirrorRig.LENGTH, rig.a, rig.c).args("mirror", "core 2 8 nosync 2 /a 0 /c 0"));
        other.importState(state);
        other.preresume();
        assertEquals("2 /a /c 128/128 1 AA 1 core", info(other));
    }
}
