package org.ddmapper.spi;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Consumer;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;

/**
 * Completes a request once all of its parts have completed. A layer that splits a request (at
 * chunk or target boundaries) or fans it out (a flush to every stripe, a write to every mirror
 * leg) gives this join to each part as its completion. The count of parts is fixed up front, so
 * parts may complete while later ones are still being submitted. The outcome is OK when every
 * part succeeded, else the first error; a REQUEUE when a part requeued and none failed.
 */
public final class BioJoin implements Consumer<IoStatus> {
    private static final AtomicIntegerFieldUpdater<BioJoin> PENDING =
            AtomicIntegerFieldUpdater.newUpdater(BioJoin.class, "pending");
    private static final AtomicReferenceFieldUpdater<BioJoin, IoStatus> WORST =
            AtomicReferenceFieldUpdater.newUpdater(BioJoin.class, IoStatus.class, "worst");

    private final Bio parent;
    private volatile int pending;
    private volatile IoStatus worst;

    /** A join completing {@code parent} after {@code parts} (at least 1) completions. */
    public BioJoin(Bio parent, int parts) {
        if (parts < 1) throw new IllegalArgumentException("a join needs at least one part");
        this.parent = parent;
        this.pending = parts;
    }

    /** One part's outcome. */
    @Override
    public void accept(IoStatus status) {
        if (!status.isOk()) keepWorst(status);
        if (PENDING.decrementAndGet(this) == 0) {
            IoStatus outcome = worst;
            parent.complete(outcome == null ? IoStatus.OK : outcome);
        }
    }

    private void keepWorst(IoStatus status) {
        while (true) {
            IoStatus current = worst;
            boolean better = current == null || (current.isRequeue() && status.isError());
            if (!better || WORST.compareAndSet(this, current, status)) return;
        }
    }
}
