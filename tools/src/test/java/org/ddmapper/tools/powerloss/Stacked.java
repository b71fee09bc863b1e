package org.ddmapper.tools.powerloss;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.Target;

/**
 * Block devices for stacking targets in a power-loss test: a target as a device, a slice of one
 * (a {@code linear} of it, so several devices share one logged device), a slice with a faulty layer
 * in between, a device that pauses now and then (so a target's timers run), and a pair that one
 * writer sees as one device of both.
 */
final class Stacked {
    private Stacked() {}

    /** A target as a device of {@code sectors}. */
    static BlockDevice device(String reference, Target target, long sectors) {
        return slice(reference, target, 0, sectors, UnaryOperator.identity());
    }

    /**
     * Sectors {@code [offset, offset + sectors)} of {@code below}; each request goes through {@code layer}
     * first (null: the layer answers it OK itself, without passing it down).
     */
    static BlockDevice slice(String reference, Target below, long offset, long sectors, UnaryOperator<Bio> layer) {
        return new BlockDevice() {
            @Override public String reference() { return reference; }

            @Override public long sizeSectors() { return sectors; }

            @Override
            public void submit(Bio bio) {
                Bio passed = layer.apply(bio);
                if (passed == null) bio.complete(IoStatus.OK);
                else below.map(passed.op() == BioOp.FLUSH ? passed : passed.remap(passed.sector() + offset));
            }

            @Override public void close() { }
        };
    }

    /** {@code device}, pausing {@code pauseMillis} before every {@code every}th request (in the submitter's thread). */
    static BlockDevice paced(BlockDevice device, int every, long pauseMillis) {
        AtomicInteger requests = new AtomicInteger();
        return new BlockDevice() {
            @Override public String reference() { return device.reference(); }

            @Override public long sizeSectors() { return device.sizeSectors(); }

            @Override
            public void submit(Bio bio) {
                if (requests.incrementAndGet() % every == 0) {
                    try {
                        Thread.sleep(pauseMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                device.submit(bio);
            }

            @Override public void close() { }
        };
    }

    /** {@code first} then {@code second} as one device; a flush goes to both and is answered when both answered. */
    static BlockDevice pair(BlockDevice first, BlockDevice second) {
        return new BlockDevice() {
            @Override public String reference() { return first.reference() + "+" + second.reference(); }

            @Override public long sizeSectors() { return first.sizeSectors() + second.sizeSectors(); }

            @Override
            public void submit(Bio bio) {
                if (bio.op() == BioOp.FLUSH) {
                    AtomicInteger left = new AtomicInteger(2);
                    AtomicReference<IoStatus> worst = new AtomicReference<>(IoStatus.OK);
                    java.util.function.Consumer<IoStatus> one = s -> {
                        if (!s.isOk()) worst.set(s);
                        if (left.decrementAndGet() == 0) bio.complete(worst.get());
                    };
                    first.submit(Bio.flush(one));
                    second.submit(Bio.flush(one));
                } else if (bio.sector() < first.sizeSectors()) {
                    first.submit(bio);
                } else {
                    second.submit(bio.remap(bio.sector() - first.sizeSectors()));
                }
            }

            @Override public void close() { }
        };
    }
}
