package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 25: a closing connection answers every request before it closes. When the server stops
 * or the export's device is removed, requests that finish within the grace period get their
 * replies; every other one — held at the device past the grace period, a WRITE whose payload was
 * only partly sent, one waiting for memory, one sent meanwhile — gets {@code NBD_ESHUTDOWN}
 * (structured or simple, as negotiated), all within the grace period plus 100 ms; then the
 * connection closes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClosingTest extends ServerTestBase {
    static final long GRACE_MILLIS = 1_000;
    static final long HELD_AT = 64 * 1024;

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withShutdownGraceMillis(GRACE_MILLIS).withGoneLingerMillis(500);
    }

    @BeforeEach
    void heldDevice() {
        devices.add("held", 1 << 20, false).gateAt(HELD_AT); // requests at 64 KiB stay at the device until the gate opens
    }

    /** Reads {@code count} replies of a structured session by cookie: 0 for success, else the error, with the message. */
    private static Map<Long, String> replies(WireClient c, int count) throws IOException {
        Map<Long, String> byCookie = new HashMap<>();
        for (int i = 0; i < count; i++) {
            WireClient.Chunk chunk = c.readReply();
            assertEquals(Nbd.REPLY_FLAG_DONE, chunk.flags() & Nbd.REPLY_FLAG_DONE);
            String answer = chunk.type() == Nbd.REPLY_TYPE_ERROR ? chunk.error() + " " + chunk.message() : "0";
            byCookie.put(chunk.handle(), answer);
        }
        return byCookie;
    }

    @Test
    void aStoppingServerAnswersEveryRequestWithinTheGracePeriodThenCloses() throws Exception {
        WireClient c = connected("held", true);
        for (long cookie = 1; cookie <= 3; cookie++) c.write(cookie, HELD_AT, new byte[4096]); // held at the device
        c.write(4, 0, new byte[4096]); // completes
        c.sendRequest(0, Nbd.CMD_WRITE, 5, 8192, 128 * 1024);
        c.out.write(new byte[1000]); // a payload only partly sent
        c.out.flush();
        await("three writes held at the device", () -> devices.device("held").gatedCount() == 3);
        Thread.sleep(100); // the server is reading the partial payload

        long stopped = System.nanoTime();
        Thread stopper = new Thread(server::close, "stopper");
        stopper.start();
        Map<Long, String> first = replies(c, 2);
        assertEquals("0", first.get(4L), "the write that completed");
        assertEquals(Nbd.ESHUTDOWN + " the server is stopping", first.get(5L), "the write whose payload was cut");
        c.out.write(new byte[128 * 1024 - 1000]); // the rest of that payload, then a request during the grace period
        c.sendRequest(0, Nbd.CMD_READ, 6, 0, 4096);
        assertEquals(Map.of(6L, Nbd.ESHUTDOWN + " the server is stopping"), replies(c, 1), "a request during the grace period");

        Map<Long, String> held = replies(c, 3);
        long millis = (System.nanoTime() - stopped) / 1_000_000;
        for (long cookie = 1; cookie <= 3; cookie++)
            assertEquals(Nbd.ESHUTDOWN + " the server is stopping", held.get(cookie), "held write " + cookie);
        assertTrue(millis >= GRACE_MILLIS - 50 && millis <= GRACE_MILLIS + 100,
                "the held writes are answered at the end of the " + GRACE_MILLIS + " ms grace period, took " + millis + " ms");
        assertTrue(c.closedByServer(2_000), "then the connection closes");
        stopper.join(5_000);
        devices.device("held").openGate();
        await("the held writes' memory back once the device completed them", () -> server.budget().usedBytes() == 0);
        c.close();
    }

    @Test
    void requestsThatFinishWithinTheGracePeriodGetTheirRepliesAndTheConnectionClosesAtOnce() throws Exception {
        WireClient c = connected("held", false);
        c.write(1, HELD_AT, new byte[4096]);
        c.sendRequest(0, Nbd.CMD_FLUSH, 2, 0, 0);
        await("a write held at the device", () -> devices.device("held").gatedCount() == 1);
        assertEquals(new WireClient.SimpleReply(0, 2), c.readSimpleReply(), "the flush");

        long stopped = System.nanoTime();
        Thread stopper = new Thread(server::close, "stopper");
        stopper.start();
        Thread.sleep(200);
        devices.device("held").openGate(); // the device completes it within the grace period
        assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply(), "completed within the grace period");
        assertTrue(c.closedByServer(2_000), "the connection closes once nothing is in flight");
        long millis = (System.nanoTime() - stopped) / 1_000_000;
        assertTrue(millis < GRACE_MILLIS, "closed before the grace period ended: " + millis + " ms");
        stopper.join(5_000);
        c.close();
    }

    @Test
    void aRequestWaitingForMemoryWhenTheServerStopsIsAnswered() throws Exception {
        restartServer(limits().withMemoryBytes(4 << 20));
        WireClient holder = connected("held", false);
        for (long cookie = 1; cookie <= 8; cookie++) holder.sendRequest(0, Nbd.CMD_READ, cookie, HELD_AT, 512 * 1024);
        await("the budget spent on reads held at the device", () -> server.budget().usedBytes() == 4L << 20);
        WireClient waiter = connected("disk", false);
        waiter.sendRequest(0, Nbd.CMD_READ, 9, 0, 1 << 20);
        await("the read waits for memory", () -> server.budget().waiting() == 1);

        long stopped = System.nanoTime();
        Thread stopper = new Thread(server::close, "stopper");
        stopper.start();
        assertEquals(new WireClient.SimpleReply(Nbd.ESHUTDOWN, 9), waiter.readSimpleReply(), "answered, not run");
        long millis = (System.nanoTime() - stopped) / 1_000_000;
        assertTrue(millis < GRACE_MILLIS, "at once, not at the grace end: " + millis + " ms");
        assertTrue(waiter.closedByServer(2_000));
        for (int i = 0; i < 8; i++) assertEquals(Nbd.ESHUTDOWN, holder.readSimpleReply().error(), "held read " + i);
        assertTrue(holder.closedByServer(2_000));
        stopper.join(5_000);
        devices.device("held").openGate();
        await("all memory back", () -> server.budget().usedBytes() == 0);
        holder.close();
        waiter.close();
    }

    @Test
    void aRemovedDeviceAnswersItsRequestsWithinTheGracePeriodThenClosesWhenIdle() throws Exception {
        WireClient c = connected("held", true);
        for (long cookie = 1; cookie <= 3; cookie++) c.write(cookie, HELD_AT, new byte[4096]);
        c.sendRequest(0, Nbd.CMD_WRITE, 4, 8192, 128 * 1024);
        c.out.write(new byte[1000]);
        c.out.flush();
        await("three writes held at the device", () -> devices.device("held").gatedCount() == 3);
        Thread.sleep(100);

        long removed = System.nanoTime();
        devices.remove(DeviceRef.of("held"), true);
        assertEquals(Map.of(4L, Nbd.ESHUTDOWN + " device 'held' was removed"), replies(c, 1), "the write whose payload was cut");
        c.out.write(new byte[128 * 1024 - 1000]);
        c.sendRequest(0, Nbd.CMD_READ, 5, 0, 4096);
        assertEquals(Map.of(5L, Nbd.ESHUTDOWN + " device 'held' was removed"), replies(c, 1), "a request after the removal");
        Map<Long, String> held = replies(c, 3);
        long millis = (System.nanoTime() - removed) / 1_000_000;
        for (long cookie = 1; cookie <= 3; cookie++)
            assertEquals(Nbd.ESHUTDOWN + " device 'held' was removed", held.get(cookie), "held write " + cookie);
        assertTrue(millis <= GRACE_MILLIS + 100, "answered within the grace period, took " + millis + " ms");
        assertTrue(c.closedByServer(3_000), "the idle connection closes after its linger");
        c.close();
        assertGoodClientServed();
    }

    @Test
    void afterDiscTheRequestsInFlightFinishAndNothingMoreIsRead() throws Exception {
        WireClient c = connected("held", false);
        c.write(1, HELD_AT, new byte[4096]);
        c.sendRequest(0, Nbd.CMD_DISC, 2, 0, 0);
        c.sendRequest(0, Nbd.CMD_READ, 3, 0, 4096); // after DISC: ignored
        await("the write held at the device", () -> devices.device("held").gatedCount() == 1);
        Thread.sleep(200);
        assertTrue(!c.closedByServer(100), "the connection waits for the write in flight");
        devices.device("held").openGate();
        assertEquals(new WireClient.SimpleReply(0, 1), c.readSimpleReply(), "the write in flight is answered");
        assertTrue(c.closedByServer(2_000), "and nothing after the DISC: the connection closes");
        c.close();
    }
}
