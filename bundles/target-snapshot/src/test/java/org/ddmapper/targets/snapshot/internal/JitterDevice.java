package org.ddmapper.targets.snapshot.internal;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.testkit.MemoryDevice;

/**
 * An in-memory device that carries requests out after a random delay of up to
 * {@code maxDelayMicros} on a pool, so that they overtake each other (copies ending out of
 * allocation order, a read outliving a write); a write's data is taken when it is carried out.
 */
final class JitterDevice implements BlockDevice {
    final MemoryDevice inner;
    private final ScheduledExecutorService pool;
    private final int maxDelayMicros;

    JitterDevice(MemoryDevice inner, ScheduledExecutorService pool, int maxDelayMicros) {
        this.inner = inner;
        this.pool = pool;
        this.maxDelayMicros = maxDelayMicros;
    }

    @Override public String reference() { return inner.reference(); }

    @Override public long sizeSectors() { return inner.sizeSectors(); }

    @Override
    public void submit(Bio bio) {
        pool.schedule(() -> inner.submit(bio), ThreadLocalRandom.current().nextInt(maxDelayMicros + 1), TimeUnit.MICROSECONDS);
    }

    @Override public void close() { inner.close(); }
}
