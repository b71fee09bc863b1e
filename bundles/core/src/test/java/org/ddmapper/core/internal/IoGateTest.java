package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.Completion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The I/O gate on its own: counting, holding, draining, failing and removal, and the race between a closer and submitters. */
@Timeout(60)
class IoGateTest {
    private final IoGate gate = new IoGate();

    private static Bio read(Completion done) { return Bio.read(0, ByteBuffer.allocate(512), done); }

    @Test
    void anOpenGateCountsRequestsInAndOut() {
        assertTrue(gate.enter());
        assertTrue(gate.enter());
        assertEquals(2, gate.inflight());
        gate.leave();
        gate.leave();
        assertEquals(0, gate.inflight());
        assertFalse(gate.hold(read(new Completion())), "an open gate holds nothing: the caller submits");
        assertEquals(0, gate.heldCount());
    }

    @Test
    void aClosedGateTurnsRequestsAwayUncountedHoldsThemAndHandsThemBackInOrder() {
        gate.close();
        assertFalse(gate.enter());
        assertEquals(0, gate.inflight(), "a request refused at the gate is not counted");
        Completion first = new Completion();
        Completion second = new Completion();
        Bio a = read(first);
        Bio b = read(second);
        assertTrue(gate.hold(a));
        assertTrue(gate.hold(b));
        assertEquals(2, gate.heldCount());
        assertFalse(first.isDone(), "held, not completed");
        assertEquals(List.of(a, b), gate.open());
        assertEquals(0, gate.heldCount());
        assertTrue(gate.enter(), "open again");
    }

    @Test
    void drainWaitsForTheLastRequestInFlightAndTimesOutWhileOneStays() throws Exception {
        assertTrue(gate.enter());
        gate.close();
        long start = System.nanoTime();
        assertFalse(gate.drain(100), "one request is still in flight");
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= 90);
        CountDownLatch draining = new CountDownLatch(1);
        AtomicBoolean drained = new AtomicBoolean();
        Thread suspender = new Thread(() -> {
            draining.countDown();
            drained.set(gate.drain(10_000));
        });
        suspender.start();
        assertTrue(draining.await(5, TimeUnit.SECONDS));
        Thread.sleep(50);
        assertFalse(drained.get(), "still waiting");
        gate.leave();
        suspender.join(5_000);
        assertTrue(drained.get(), "woken by the last leave");
    }

    @Test
    void aFailingGateFailsHeldAndNewRequestsWithItsReasonUntilItStops() {
        gate.close();
        Completion held = new Completion();
        assertTrue(gate.hold(read(held)));
        assertEquals(1, gate.failWith("type 'x' stayed away"));
        assertEquals(IoStatus.error(Errno.EIO, "type 'x' stayed away"), held.get());
        assertEquals("type 'x' stayed away", gate.failingReason());
        Completion late = new Completion();
        assertTrue(gate.hold(read(late)));
        assertEquals(Errno.EIO, late.get().errno());
        gate.stopFailing();
        assertNull(gate.failingReason());
        Completion waits = new Completion();
        assertTrue(gate.hold(read(waits)));
        assertFalse(waits.isDone(), "held again, not failed");
        assertEquals(1, gate.heldCount());
    }

    @Test
    void aRemovedGateHandsBackWhatItHeldAndFailsEverythingAfterWithEnodev() {
        gate.close();
        Bio held = read(new Completion());
        gate.hold(held);
        assertEquals(List.of(held), gate.remove("device 'd' was removed"));
        assertEquals("device 'd' was removed", gate.removedReason());
        assertFalse(gate.enter(), "closed for good");
        Completion late = new Completion();
        assertTrue(gate.hold(read(late)));
        assertEquals(IoStatus.error(Errno.ENODEV, "device 'd' was removed"), late.get());
        assertEquals(List.of(), gate.takeHeld());
    }

    /**
     * The gate's promise: a request either passes before the closer's drain returns (and is counted
     * until it leaves) or is held. Submitters race a closer over and over; no request that passed may
     * still be "inside" when drain returns, and every request turned away is held.
     */
    @Test
    void noRequestSlipsPastAClosingGateUnseen() throws Exception {
        for (int round = 0; round < 200; round++) {
            IoGate g = new IoGate();
            AtomicLong inside = new AtomicLong();
            AtomicLong turnedAway = new AtomicLong();
            AtomicLong notHeld = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        if (g.enter()) {
                            inside.incrementAndGet();
                            Thread.onSpinWait();
                            inside.decrementAndGet();
                            g.leave();
                        } else {
                            if (!g.hold(read(new Completion()))) notHeld.incrementAndGet();
                            turnedAway.incrementAndGet();
                            return;
                        }
                    }
                });
                th.start();
                submitters.add(th);
            }
            Thread.sleep(1);
            g.close();
            assertTrue(g.drain(5_000));
            assertEquals(0, inside.get(), "a request was inside the gate after the drain returned");
            stop.set(true);
            for (Thread th : submitters) th.join(5_000);
            assertEquals(0, notHeld.get(), "a request turned away found the gate open again");
            assertEquals(turnedAway.get(), g.heldCount(), "every request turned away is held");
        }
    }
}
