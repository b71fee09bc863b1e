package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clients that hold the server's memory without making progress: WRITEs whose payload stalls
 * or trickles, and a client that leaves its replies unread. The server-wide budget makes others
 * wait rather than fail, ordinary I/O is still served, and the payload deadline drops only the
 * stalled connection.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StalledClientTest extends ServerTestBase {
    static final long MIB = 1 << 20;
    static final long MEMORY = 96 * MIB;
    static final int BIG_BYTES = 40 << 20;

    private final List<WireClient> hostile = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withMemoryBytes(MEMORY).withPayloadMillis(60_000);
    }

    @BeforeEach
    void bigDeviceAndBystander() throws IOException {
        devices.add("big", BIG_BYTES, false);
        connectBystander();
    }

    @AfterEach
    void closeHostile() throws Exception {
        for (WireClient c : hostile) c.close();
        for (Thread t : threads) t.join(10_000);
    }

    /** A WRITE of {@code declared} bytes of which only {@code sent} are sent. */
    private WireClient stalledWriter(long handle, int declared, int sent) throws IOException {
        WireClient c = connected("big", false);
        hostile.add(c);
        c.sendRequest(0, Nbd.CMD_WRITE, handle, 0, declared);
        c.out.write(new byte[sent]);
        c.out.flush();
        return c;
    }

    private void inThread(String name, ThrowingRunnable body, AtomicReference<Throwable> failure) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void stalledLargeWritersWaitForMemoryWhileOrdinaryClientsAreServed() throws Exception {
        int declared = 32 << 20;
        int sent = 64 * 1024;
        for (int i = 0; i < 8; i++) stalledWriter(i, declared, sent);
        // 72 MiB (the budget less the quarter kept for small requests) takes two; six wait their turn.
        await("two stalled writers hold memory and six wait for it",
                () -> server.budget().usedBytes() == 2L * declared && server.budget().waiting() == 6);

        long start = System.nanoTime();
        assertGoodClientServed();
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis < 10_000, "the bystander and a new client are served at once (the payload deadline is 60 s), took "
                + millis + " ms");
        await("no stalled writer dropped for want of memory", () -> connectionsBesidesBystander() == 8);

        // The writers finish their payloads: each is answered in turn, none is dropped.
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (WireClient c : hostile) {
            inThread("finish payload", () -> {
                c.out.write(new byte[declared - sent]);
                c.out.flush();
            }, failure);
        }
        for (int i = 0; i < hostile.size(); i++) {
            WireClient.SimpleReply r = hostile.get(i).readSimpleReply();
            assertEquals(new WireClient.SimpleReply(0, i), r, "writer " + i + " is answered");
        }
        for (Thread t : threads) t.join(30_000);
        assertEquals(null, failure.get());
        assertTrue(server.budget().maxUsedBytes() <= MEMORY,
                "held at most the budget: " + server.budget().maxUsedBytes());
        bystander.verify();
        await("every byte given back", () -> server.budget().usedBytes() == 0);
    }

    @Test
    void aStalledOrTricklingPayloadIsDroppedAtTheDeadlineAndOnlyThatConnection() throws Exception {
        restartServer(limits().withPayloadMillis(1500));
        long start = System.nanoTime(); // before the header: the server's clock starts later
        WireClient stalled = stalledWriter(1, 1 << 20, 4096);
        WireClient trickling = stalledWriter(2, 1 << 20, 512);
        AtomicReference<Throwable> ended = new AtomicReference<>();
        inThread("trickle", () -> {
            for (int i = 0; i < 200; i++) {
                trickling.out.write(new byte[512]);
                trickling.out.flush();
                Thread.sleep(100); // pacing the trickle, not synchronisation
            }
        }, ended);
        assertTrue(stalled.closedByServer(15_000), "the stalled payload's connection is dropped");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 1500, "not before the 1.5 s deadline: " + millis + " ms");
        assertTrue(trickling.closedByServer(15_000), "a payload that trickles is dropped at the deadline too");
        assertGoodClientServed();
        await("their memory given back", () -> server.budget().usedBytes() == 0);
        await("only the bystander's connection left", () -> connectionsBesidesBystander() == 0);
    }

    @Test
    void writersThatSendOnlyAHeaderHoldNoMemoryAndAreDroppedAtTheDeadline() throws Exception {
        restartServer(limits().withPayloadMillis(1500));
        long start = System.nanoTime();
        for (int i = 0; i < 8; i++) stalledWriter(i, 32 << 20, 100);
        assertGoodClientServed();
        for (WireClient c : hostile) assertTrue(c.closedByServer(15_000), "dropped at the payload deadline");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 1500, "not before the deadline: " + millis + " ms");
        // Only the good clients' blocks were ever held (two at a time at most: a buffer goes back just after its reply).
        assertTrue(server.budget().maxUsedBytes() < MIB,
                "eight 32 MiB headers took no memory; the most held was " + server.budget().maxUsedBytes());
    }

    @Test
    void aClientLeavingRepliesUnreadIsDroppedOnceOthersWaitForMemory() throws Exception {
        restartServer(limits().withMemoryBytes(16 * MIB).withPayloadMillis(1500));
        // A small fixed receive buffer: the kernel cannot take the replies in for the client that reads none.
        WireClient reader = new WireClient(address, null, 64 * 1024).start();
        reader.go("big");
        hostile.add(reader);
        for (int i = 0; i < 40; i++) reader.sendRequest(0, Nbd.CMD_READ, i, (long) i << 20, 1 << 20);
        await("the unread replies hold the whole budget",
                () -> server.budget().usedBytes() > 15 * MIB && server.budget().waiting() >= 1);

        // A client that reads its replies keeps asking for memory, so others wait for as long as the
        // reader holds it: a bystander's few requests alone could be served by a reply the kernel
        // still took in, and then nobody would be waiting any more.
        WireClient hungry = connected("big", false);
        hostile.add(hungry);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.Set<Long> answered = java.util.concurrent.ConcurrentHashMap.newKeySet();
        inThread("hungry reader", () -> {
            for (int i = 0; i < 32; i++) { // in completion order
                WireClient.SimpleReply r = hungry.readSimpleReply();
                assertEquals(0, r.error(), "hungry read " + r.handle());
                hungry.readBytes(1 << 20);
                answered.add(r.handle());
            }
        }, failure);
        int open = server.connectionCount();
        for (int i = 0; i < 32; i++) hungry.sendRequest(0, Nbd.CMD_READ, 100 + i, (long) i << 20, 1 << 20);
        // Watched from the server's side: reading the reader's socket here would take its replies.
        await("a connection dropped", () -> server.connectionCount() == open - 1);
        assertTrue(reader.closedByServer(5_000), "the client that reads no replies is the one dropped");
        for (Thread t : threads) t.join(30_000);
        assertEquals(null, failure.get(), "the waiting client is served, none of its requests failed");
        assertEquals(32, answered.size(), "each of its reads answered once");
        bystander.verify();
        assertGoodClientServed();
    }

    @Test
    void clientsThatHangUpWhileWaitingForRoomLeaveWithinASecond() throws Exception {
        int declared = 32 << 20;
        stalledWriter(1, declared, 64 * 1024);
        stalledWriter(2, declared, 64 * 1024);
        // 72 MiB (the budget less the quarter kept for small requests) holds both: a third large request waits.
        await("two stalled writers hold 64 MiB", () -> server.budget().usedBytes() == 2L * declared);
        devices.add("held", 1 << 20, false);
        bystander.verify();
        ProcessBaseline baseline = ProcessBaseline.take();
        int logMark = LogRecorder.mark();

        List<WireClient> waiting = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            // a large read that queues for memory; the client then hangs up with nothing more sent
            WireClient c = connected("big", false);
            c.sendRequest(0, Nbd.CMD_READ, i, 0, declared);
            waiting.add(c);
        }
        for (int i = 0; i < 10; i++) {
            // the same, with 84 KiB of requests after it: the connection's input buffer is full when it hangs up
            WireClient c = connected("big", false);
            c.sendRequest(0, Nbd.CMD_READ, i, 0, declared);
            java.io.ByteArrayOutputStream more = new java.io.ByteArrayOutputStream();
            java.io.DataOutputStream d = new java.io.DataOutputStream(more);
            for (int k = 0; k < 3000; k++) {
                d.writeInt(Nbd.REQUEST_MAGIC);
                d.writeShort(0);
                d.writeShort(Nbd.CMD_FLUSH);
                d.writeLong(100 + k);
                d.writeLong(0);
                d.writeInt(0);
            }
            c.out.write(more.toByteArray());
            c.out.flush();
            waiting.add(c);
        }
        devices.suspend(org.ddmapper.api.DeviceRef.of("held"), false);
        for (int i = 0; i < 2; i++) {
            // every in-flight slot taken by reads the suspended device holds, and more requests behind them
            WireClient c = connected("held", false);
            for (int k = 0; k < ServerLimits.DEFAULTS.maxInFlightRequests() + 50; k++) c.sendRequest(0, Nbd.CMD_READ, k, 0, 4096);
            waiting.add(c);
        }
        await("twenty connections wait for memory", () -> server.budget().waiting() == 20);
        Thread.sleep(200); // the held device's connections reach their request limit

        for (WireClient c : waiting) c.close();
        long closed = System.nanoTime();
        await("nobody waits for memory", () -> server.budget().waiting() == 0);
        baseline.assertRestoredWithin(1_000);
        long millis = (System.nanoTime() - closed) / 1_000_000;
        assertTrue(millis < 1_500, "their threads and descriptors were back after " + millis + " ms");
        devices.resume(org.ddmapper.api.DeviceRef.of("held"));
        await("only the stalled writers hold memory once the held reads completed",
                () -> server.budget().usedBytes() == 2L * declared);
        assertGoodClientServed();
        assertEquals(List.of(), LogRecorder.serverBugsSince(logMark), "no server error logged");
    }
}
