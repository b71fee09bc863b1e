package org.ddmapper.targets.fault;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.ddmapper.api.Bio;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;

/**
 * A delay target. Requests fall into three classes (reads; writes, discards and write-zeroes;
 * flushes), each with its own device area and delay. A delayed request is held on the shared
 * scheduler, never by sleeping on the caller's thread, and counted until it is sent on. Once
 * presuspend runs, everything held is sent on at once and new requests pass undelayed until
 * resume (the kernel's may_delay).
 */
final class Delay implements Target {

    /** One class's device area and delay. */
    record Lane(DeviceArea area, long delayMillis) {}

    private static final int READS = 0, WRITES = 1, FLUSHES = 2;

    private final ScheduledExecutorService scheduler;
    private final int triplets;
    private final Lane[] lanes;
    private final AtomicIntegerArray heldPerClass = new AtomicIntegerArray(3);
    /** Held requests in arrival order (a release sends them on in that order). */
    private final Queue<Held> held = new ConcurrentLinkedQueue<>();
    private volatile boolean mayDelay = true;

    Delay(ScheduledExecutorService scheduler, int triplets, Lane read, Lane write, Lane flush) {
        this.scheduler = scheduler;
        this.triplets = triplets;
        this.lanes = new Lane[] {read, write, flush};
    }

    @Override
    public void map(Bio bio) {
        int klass = switch (bio.op()) {
            case READ -> READS;
            case FLUSH -> FLUSHES;
            case WRITE, DISCARD, WRITE_ZEROES -> WRITES;
        };
        Lane lane = lanes[klass];
        if (lane.delayMillis() == 0 || !mayDelay) {
            lane.area().submit(bio);
            return;
        }
        Held h = new Held(klass, bio);
        held.add(h);
        heldPerClass.incrementAndGet(klass);
        try {
            h.timer = scheduler.schedule(h, lane.delayMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException shuttingDown) {
            h.run();
        }
        if (!mayDelay) h.run(); // presuspend ran while this one was being held
    }

    @Override
    public void presuspend(boolean noflush) {
        mayDelay = false;
        releaseAll();
    }

    @Override
    public void resume() { mayDelay = true; }

    @Override
    public void destroy() {
        mayDelay = false;
        releaseAll();
    }

    private void releaseAll() {
        for (Held h : held) {
            Future<?> timer = h.timer;
            if (timer != null) timer.cancel(false);
            h.run();
        }
    }

    @Override
    public String status(StatusType type) {
        if (type == StatusType.INFO)
            return heldPerClass.get(READS) + " " + heldPerClass.get(WRITES) + " " + heldPerClass.get(FLUSHES);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < triplets; i++) {
            if (i > 0) sb.append(' ');
            sb.append(lanes[i].area().tableText()).append(' ').append(lanes[i].delayMillis());
        }
        return sb.toString();
    }

    /** A held request; sent on exactly once, by its timer or by a release. */
    private final class Held implements Runnable {
        private final int klass;
        private final Bio bio;
        private final AtomicBoolean sent = new AtomicBoolean();
        volatile Future<?> timer;

        Held(int klass, Bio bio) {
            this.klass = klass;
            this.bio = bio;
        }

        @Override
        public void run() {
            if (!sent.compareAndSet(false, true)) return;
            held.remove(this);
            heldPerClass.decrementAndGet(klass);
            lanes[klass].area().submit(bio);
        }
    }
}
