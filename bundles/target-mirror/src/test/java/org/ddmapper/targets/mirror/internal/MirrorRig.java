package org.ddmapper.targets.mirror.internal;

import org.ddmapper.api.EventPayload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;

/**
 * A mirror over in-memory legs /a, /b, /c and a log /log, for the policy tests: 1024 sectors in
 * regions of 8 (128 regions). Builds mirrors from table words, resumes and suspends them as the
 * core would, and does I/O with bounded waits.
 */
final class MirrorRig implements AutoCloseable {
    static final long LENGTH = 1024;
    static final long REGION = 8;
    final FaultyDevice a = new FaultyDevice("/a", LENGTH);
    final FaultyDevice b = new FaultyDevice("/b", LENGTH);
    final FaultyDevice c = new FaultyDevice("/c", LENGTH);
    final FaultyDevice log = new FaultyDevice("/log", 2048);
    final FakeTargetContext context = new FakeTargetContext(LENGTH, a, b, c, log);

    /** A mirror built from {@code words} and resumed (preresume, resume), as a create does. */
    Mirror start(String words) {
        Mirror m = Mirror.create(context, context.args("mirror", words));
        m.preresume();
        m.resume();
        return m;
    }

    /** A flush suspend: presuspend, postsuspend. */
    static void suspend(Mirror m) {
        m.presuspend(false);
        m.postsuspend();
    }

    static IoStatus write(Mirror m, long sector, byte[] data) {
        Completion done = new Completion();
        m.map(Bio.write(sector, ByteBuffer.wrap(data), 0, done));
        return done.get();
    }

    static Completion writeAsync(Mirror m, long sector, byte[] data) {
        Completion done = new Completion();
        m.map(Bio.write(sector, ByteBuffer.wrap(data), 0, done));
        return done;
    }

    static byte[] read(Mirror m, long sector, int sectors) {
        byte[] into = new byte[sectors * Bio.SECTOR_BYTES];
        Completion done = new Completion();
        m.map(Bio.read(sector, ByteBuffer.wrap(into), done));
        assertEquals(IoStatus.OK, done.get(), "read " + sector + "+" + sectors);
        return into;
    }

    static byte[] pattern(int sectors, int seed) {
        byte[] b = new byte[sectors * Bio.SECTOR_BYTES];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (seed * 31 + i * 7);
        return b;
    }

    /** Waits up to 10 s for a condition. */
    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 10 s: " + what);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    static String info(Mirror m) { return m.status(StatusType.INFO); }

    /** Waits until status shows every region in sync. */
    static void awaitInSync(Mirror m) {
        await("in sync: " + info(m), () -> info(m).contains(" 128/128 "));
    }

    /** The log's clean bit of a region, as on the log device. */
    boolean cleanOnDisk(long region) {
        byte[] bits = log.memory.contents(2, 1);
        return (bits[(int) (region / 8)] & (1 << (region % 8))) != 0;
    }

    static boolean sameContents(FaultyDevice x, FaultyDevice y) {
        return Arrays.equals(x.memory.contents(0, LENGTH), y.memory.contents(0, LENGTH));
    }

    List<EventPayload> events() { return context.events(); }

    @Override
    public void close() { context.close(); }

}
