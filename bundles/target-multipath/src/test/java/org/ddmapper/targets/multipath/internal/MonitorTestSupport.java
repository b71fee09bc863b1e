package org.ddmapper.targets.multipath.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.api.EventPayload;

/** Three scripted paths (/p/a, /p/b, /p/c) to one in-memory disk, for the monitor's tests. */
public final class MonitorTestSupport implements AutoCloseable {
    public final FakeTargetContext ctx;
    public final MemoryDevice a;
    public final MemoryDevice b;
    public final MemoryDevice c;
    private final byte[] disk;

    public MonitorTestSupport(long sectors) {
        disk = new byte[(int) sectors * Bio.SECTOR_BYTES];
        ctx = new FakeTargetContext(sectors).named("mpatha");
        a = new MemoryDevice("/p/a", disk);
        b = new MemoryDevice("/p/b", disk);
        c = new MemoryDevice("/p/c", disk);
        ctx.device(a).device(b).device(c);
    }

    /** A live map (created and resumed) registered in {@code registry}. */
    public MultipathTarget build(String table, MapRegistry registry) {
        MultipathTarget t = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, table), registry);
        t.resume();
        return t;
    }

    /** Opening {@code reference} from now on yields {@code device}. */
    public void openable(String reference, BlockDevice device) {
        ctx.openWith(reference, ref -> device);
    }

    /** Opening {@code reference} from now on runs {@code open} (on the opening thread). */
    public void openWith(String reference, java.util.function.Function<String, BlockDevice> open) {
        ctx.openWith(reference, open);
    }

    public void unopenable(String reference, Errno errno) {
        ctx.unopenable(reference, errno);
    }

    /** A new device onto the same disk. */
    public MemoryDevice device(String reference) {
        return new MemoryDevice(reference, disk);
    }

    public CompletableFuture<IoStatus> readAsync(MultipathTarget t, long sector) {
        return Requests.read(t, sector, ByteBuffer.allocate(Bio.SECTOR_BYTES));
    }

    public IoStatus read(MultipathTarget t, long sector) throws Exception {
        return readAsync(t, sector).get(5, TimeUnit.SECONDS);
    }

    public List<EventPayload> all(EventKind kind) {
        return ctx.events(kind);
    }

    /** The one event of this kind (fails the test when there are more or none). */
    public EventPayload only(EventKind kind) {
        List<EventPayload> e = ctx.events(kind);
        assertEquals(1, e.size(), kind + " events: " + e);
        return e.get(0);
    }

    @Override
    public void close() { ctx.close(); }
}
