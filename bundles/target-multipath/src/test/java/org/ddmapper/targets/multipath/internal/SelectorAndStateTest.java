package org.ddmapper.targets.multipath.internal;

import static org.ddmapper.targets.multipath.internal.Requests.get;
import static org.ddmapper.targets.multipath.internal.Requests.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TargetState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SelectorAndStateTest extends TwoScriptedPaths {
    @Test
    void roundRobinAlternates() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        for (int i = 0; i < 10; i++) get(read(t, 0, ByteBuffer.allocate(512)));
        assertEquals(5, a.requests().size());
        assertEquals(5, b.requests().size());
    }

    @Test
    void queueLengthAvoidsThePathWithRequestsInFlight() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 0 0 1 1 queue-length 0 2 0 /p/a /p/b");
        a.holdNext().holdNext().holdNext();
        List<CompletableFuture<IoStatus>> stuck = new ArrayList<>();
        // one request lands on each path; a's hangs and b's completes, so b keeps winning
        for (int i = 0; i < 8; i++) stuck.add(read(t, 0, ByteBuffer.allocate(512)));
        assertEquals(1, a.requests().size());
        assertEquals(7, b.requests().size());
        assertEquals("2 0 0 0 1 1 A 0 2 1 /p/a A 0 1 /p/b A 0 0 ", t.status(StatusType.INFO));
        a.release();
        for (CompletableFuture<IoStatus> f : stuck) assertEquals(IoStatus.OK, get(f));
    }

    @Test
    void serviceTimeWeighsRelativeThroughput() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 0 0 1 1 service-time 0 2 2 /p/a 1 1 /p/b 1 4");
        for (int i = 0; i < 10; i++) a.holdNext();
        for (int i = 0; i < 10; i++) b.holdNext();
        for (int i = 0; i < 10; i++) read(t, 0, ByteBuffer.allocate(4096));
        // b is four times as fast: it takes about four requests for each of a's
        assertEquals(2, a.requests().size());
        assertEquals(8, b.requests().size());
        assertTrue(t.status(StatusType.INFO).contains("/p/b A 0 32768 4"), t.status(StatusType.INFO));
        a.release();
        b.release();
    }

    @Test
    void stateSurvivesAHandOverToTheNextVersion() throws Exception {
        String table = "1 queue_if_no_path 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b";
        MultipathTarget old = build(table);
        old.message(Message.of("fail_path", "/p/a"));
        old.message(Message.of("reinstate_path", "/p/a"));
        old.message(Message.of("switch_group", "2"));
        old.message(Message.of("fail_path", "/p/a"));
        old.message(Message.of("disable_group", "1"));
        old.message(Message.of("fail_if_no_path"));
        assertEquals(IoStatus.OK, get(read(old, 0, ByteBuffer.allocate(512))));
        TargetState state = old.exportState().orElseThrow();
        String info = old.status(StatusType.INFO);
        assertEquals("2 0 0 0 2 2 D 0 1 0 /p/a F 2 A 0 1 0 /p/b A 0 ", info);
        old.presuspend(true);
        old.destroy();
        MultipathTarget next = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, table), null);
        next.importState(state);
        next.preresume();
        next.resume();
        assertEquals("2 1 0 0 2 2 D 0 1 0 /p/a F 2 E 0 1 0 /p/b A 0 ", next.status(StatusType.INFO),
                "the next version's target has chosen no group yet (queue_io 1, group 2 next), as a reloaded table in the kernel");
        int switchesBefore = ctx.events(org.ddmapper.api.EventKind.PG_SWITCHED).size();
        assertEquals(IoStatus.OK, get(read(next, 0, ByteBuffer.allocate(512))));
        assertEquals(info, next.status(StatusType.INFO));
        assertEquals(switchesBefore, ctx.events(org.ddmapper.api.EventKind.PG_SWITCHED).size(), "no switch: group 2 was in use");
        assertFalse(next.queueIfNoPath());
        assertEquals(1, next.validPaths());
    }

    @Test
    void unknownStateFormatsAreIgnored() {
        MultipathTarget t = build("0 0 1 1 round-robin 0 1 0 /p/a");
        t.importState(new TargetState("multipath", 99, new byte[] {1, 2, 3}));
        assertEquals("2 1 0 0 1 1 E 0 1 0 /p/a A 0 ", t.status(StatusType.INFO));
    }
}
