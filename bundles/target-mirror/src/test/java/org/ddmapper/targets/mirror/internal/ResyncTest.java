package org.ddmapper.targets.mirror.internal;

import static org.ddmapper.targets.mirror.internal.MirrorRig.await;
import static org.ddmapper.targets.mirror.internal.MirrorRig.info;
import static org.ddmapper.targets.mirror.internal.MirrorRig.pattern;
import static org.ddmapper.targets.mirror.internal.MirrorRig.write;
import static org.ddmapper.targets.mirror.internal.MirrorRig.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The background resync: what it copies, from where, what waits for it, and what it announces. */
@Timeout(60)
class ResyncTest {
    private final MirrorRig rig = new MirrorRig();

    @AfterEach
    void close() { rig.close(); }

    private List<EventPayload> events(EventKind kind) {
        return rig.events().stream().filter(e -> e.kind() == kind).toList();
    }

    /** The regions leg {@code leg} was written in. */
    private static Set<Long> regionsWritten(FaultyDevice leg) {
        Set<Long> out = new TreeSet<>();
        for (MemoryDevice.Request r : leg.memory.requests(BioOp.WRITE))
            for (long s = r.sector(); s < r.sector() + r.lengthSectors(); s += MirrorRig.REGION) out.add(s / MirrorRig.REGION);
        return out;
    }

    @Test
    void aCoreLogResyncsEveryRegionFromTheFirstLegAndAnnouncesIt() {
        rig.a.memory.store(0, pattern(1024, 3));
        Mirror m = rig.start("core 1 8 3 /a 0 /b 0 /c 0");
        MirrorRig.awaitInSync(m);
        assertTrue(MirrorRig.sameContents(rig.a, rig.b) && MirrorRig.sameContents(rig.a, rig.c));
        assertEquals(List.of(new EventPayload.MirrorRecoveryComplete(128)), events(EventKind.MIRROR_RECOVERY_COMPLETE));
        assertEquals(0, rig.a.memory.requests(BioOp.WRITE).size(), "nothing is written to the source");
    }

    @Test
    void nosyncCopiesNothingAndAnnouncesAtOnceAsTheKernelDoes() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0");
        await("announced", () -> !events(EventKind.MIRROR_RECOVERY_COMPLETE).isEmpty());
        assertEquals(List.of(new EventPayload.MirrorRecoveryComplete(0)), events(EventKind.MIRROR_RECOVERY_COMPLETE));
        assertEquals(0, rig.b.memory.requests(BioOp.WRITE).size());
        assertEquals("2 /a /b 128/128 1 AA 1 core", info(m));
    }

    @Test
    void aDiskLogResyncsOnlyTheRegionsItMarksDirty() {
        // an in-sync log of 128 regions with regions 7, 9 and 100 dirty
        RegionBits clean = new RegionBits(128);
        clean.fill(true);
        for (long r : List.of(7L, 9L, 100L)) clean.clear(r);
        ByteBuffer image = ByteBuffer.allocate(2048);
        DiskLogFormat.store(image, 128, List.of(), clean);
        rig.log.memory.store(0, image.array());
        rig.a.memory.store(0, pattern(1024, 4));
        Mirror m = rig.start("disk 2 /log 8 2 /a 0 /b 0");
        MirrorRig.awaitInSync(m);
        assertEquals(Set.of(7L, 9L, 100L), regionsWritten(rig.b));
        assertArrayEquals(rig.a.memory.contents(7 * 8, 8), rig.b.memory.contents(7 * 8, 8));
        assertEquals(List.of(new EventPayload.MirrorRecoveryComplete(3)), events(EventKind.MIRROR_RECOVERY_COMPLETE));
        MirrorRig.suspend(m);
        for (long r = 0; r < 128; r++) assertTrue(rig.cleanOnDisk(r), "region " + r + " clean after the resync and a suspend");
    }

    @Test
    void aWriteToARegionBeingCopiedWaitsForTheCopy() {
        rig.a.memory.store(0, pattern(1024, 5));
        rig.b.holdWrites();
        Mirror m = rig.start("core 1 8 2 /a 0 /b 0");
        await("the copy of region 0 is under way", () -> rig.b.heldWrites() > 0);
        Completion w = writeAsync(m, 2, pattern(1, 6));
        // the write has not reached the source leg: it waits for region 0's copy
        assertFalse(w.isDone());
        assertArrayEquals(java.util.Arrays.copyOfRange(pattern(1024, 5), 1024, 1536), rig.a.memory.contents(2, 1));
        rig.b.releaseWrites();
        assertEquals(IoStatus.OK, w.get());
        MirrorRig.awaitInSync(m);
        assertArrayEquals(pattern(1, 6), rig.a.memory.contents(2, 1));
        assertArrayEquals(pattern(1, 6), rig.b.memory.contents(2, 1), "the copy did not overwrite the newer write");
    }

    @Test
    void aLegBackAfterAnOutageGetsOnlyTheRegionsWrittenMeanwhileFromTheLegThatStayed() {
        Mirror first = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0 1 handle_errors");
        rig.a.failWrites = Errno.ENOTCONN; // the first leg goes away
        assertEquals(IoStatus.OK, write(first, 3 * 8, pattern(8, 7)));
        rig.a.failWrites = null;
        assertEquals(IoStatus.OK, write(first, 50 * 8 + 3, pattern(2, 8)));
        assertEquals("2 /a /b 126/128 1 DA 3 disk /log A", info(first));
        MirrorRig.suspend(first);
        first.destroy();
        int aWritesBefore = rig.a.memory.requests(BioOp.WRITE).size();
        // the same table again: /a is first, but the log names it stale, so /b is the source
        Mirror again = rig.start("disk 2 /log 8 2 /a 0 /b 0 1 handle_errors");
        MirrorRig.awaitInSync(again);
        assertTrue(MirrorRig.sameContents(rig.a, rig.b));
        assertArrayEquals(pattern(8, 7), rig.a.memory.contents(3 * 8, 8));
        List<MemoryDevice.Request> copies = rig.a.memory.requests(BioOp.WRITE).subList(aWritesBefore, rig.a.memory.requests(BioOp.WRITE).size());
        assertEquals(Set.of(3L, 50L), copies.stream().map(r -> r.sector() / 8).collect(java.util.stream.Collectors.toSet()));
        MirrorRig.suspend(again);
        assertEquals(List.of(), DiskLogFormat.staleLegs(ByteBuffer.wrap(rig.log.memory.contents(0, 3))), "in sync: the record is gone");
    }

    @Test
    void aCopyThatFailsMarksTheLegSAndLeavesTheRegionOutOfSync() {
        rig.b.failWrites = Errno.EIO;
        Mirror m = rig.start("core 1 8 2 /a 0 /b 0 1 handle_errors");
        await("leg b failed its copy", () -> info(m).contains(" AS "));
        assertTrue(info(m).startsWith("2 /a /b 0/128 1 AS"), info(m));
        assertEquals("S", events(EventKind.MIRROR_LEG_FAILED).get(0) instanceof EventPayload.MirrorLegFailed f ? f.state() : "");
        assertTrue(events(EventKind.MIRROR_RECOVERY_COMPLETE).isEmpty());
    }

    @Test
    void theResyncRateIsAMessage() throws Exception {
        Mirror m = Mirror.create(rig.context, rig.context.args("mirror", "core 1 8 2 /a 0 /b 0"));
        m.message(Message.of("resync_rate", "256"));
        assertEquals("mirror: invalid resync rate 'x' (KiB/s, 0 for no limit)",
                assertThrows(DmException.class, () -> m.message(Message.of("resync_rate", "x"))).getMessage());
        assertEquals("mirror: unknown message 'fail_leg 1' (the one message is: resync_rate <KiB/s>)",
                assertThrows(DmException.class, () -> m.message(Message.of("fail_leg", "1"))).getMessage());
        long start = System.nanoTime();
        m.preresume();
        m.resume();
        MirrorRig.awaitInSync(m);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 1500, "512 KiB at 256 KiB/s took " + millis + " ms");
    }
}
