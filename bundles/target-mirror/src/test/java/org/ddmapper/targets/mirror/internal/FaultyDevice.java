package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.testkit.MemoryDevice;

/**
 * A MemoryDevice with switchable failures by kind of request (reads, writes, flushes fail with
 * an errno from the moment they are switched on until switched off), and writes that can be held
 * until released — the scripted faults a mirror's failure policy is tested against.
 */
final class FaultyDevice implements BlockDevice {
    final MemoryDevice memory;
    volatile Errno failReads;
    volatile Errno failWrites;
    volatile Errno failFlushes;
    private boolean holdWrites;
    private final List<Bio> held = new ArrayList<>();
    /** Writes submitted, failed ones included. */
    final java.util.concurrent.atomic.AtomicInteger writesSubmitted = new java.util.concurrent.atomic.AtomicInteger();

    FaultyDevice(String reference, long sectors) {
        this.memory = new MemoryDevice(reference, sectors);
    }

    @Override public String reference() { return memory.reference(); }

    @Override public long sizeSectors() { return memory.sizeSectors(); }

    synchronized void holdWrites() { holdWrites = true; }

    void releaseWrites() {
        List<Bio> now;
        synchronized (this) {
            holdWrites = false;
            now = new ArrayList<>(held);
            held.clear();
        }
        now.forEach(this::submit);
    }

    synchronized int heldWrites() { return held.size(); }

    @Override
    public void submit(Bio bio) {
        BioOp op = bio.op();
        if (op.isWrite()) writesSubmitted.incrementAndGet();
        Errno fail = op == BioOp.READ ? failReads : op == BioOp.FLUSH ? failFlushes : failWrites;
        if (fail != null) {
            bio.fail(fail, reference() + ": scripted " + op.name().toLowerCase() + " failure");
            return;
        }
        if (op.isWrite()) {
            synchronized (this) {
                if (holdWrites) {
                    held.add(bio);
                    return;
                }
            }
        }
        memory.submit(bio);
    }

    @Override public void close() { memory.close(); }
}
