package org.ddmapper.targets.snapshot.internal;

import static org.ddmapper.targets.snapshot.internal.Rig.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many writers at once on an origin with two snapshots, over devices that complete out of order:
 * each thread owns every Nth sector (so chunks are shared and copy-outs race) and knows what each
 * of its sectors must hold on the origin and in each snapshot; every read is checked, and at the
 * end both snapshots are read from a fresh activation of their stores too.
 */
@Timeout(120)
class ConcurrencyStressTest {
    static final int THREADS = 4;
    static final long SECTORS = 4096;
    final ScheduledThreadPoolExecutor jitter = new ScheduledThreadPoolExecutor(3);
    final Rig rig = new Rig();

    @AfterEach
    void close() {
        jitter.shutdownNow();
        rig.close();
    }

    @Test
    void concurrentOriginAndSnapshotWritesNeverShowAnotherWritersDataOrLoseTheOldData() throws Exception {
        MemoryDevice originMem = new MemoryDevice("/origin", SECTORS);
        byte[] initial = new byte[(int) SECTORS * 512];
        new Random(9).nextBytes(initial);
        originMem.store(0, initial);
        rig.add(new JitterDevice(originMem, jitter, 200));
        rig.add(new JitterDevice(new MemoryDevice("/cowA", 8192), jitter, 200));
        rig.add(new JitterDevice(new MemoryDevice("/cowB", 4096), jitter, 200));
        OriginTarget o = rig.origin("/origin", SECTORS);
        SnapshotTarget a = rig.snapshot("/origin /cowA P 8", SECTORS);
        SnapshotTarget b = rig.snapshot("/origin /cowB N 16", SECTORS);
        byte[][] expected = {initial.clone(), initial.clone(), initial.clone()}; // origin, a, b
        Target[] targets = {o, a, b};

        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        List<Future<Integer>> runs = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int me = t;
            runs.add(pool.submit(() -> {
                Random rnd = new Random(100 + me);
                int checks = 0;
                for (int i = 0; i < 1500; i++) {
                    int which = rnd.nextInt(3);
                    long sector = me + (long) THREADS * rnd.nextInt((int) (SECTORS / THREADS));
                    if (rnd.nextInt(3) > 0) {
                        byte[] data = new byte[512];
                        rnd.nextBytes(data);
                        IoStatus s = write(targets[which], sector, data);
                        assertTrue(s.isOk(), "write " + which + " " + sector + ": " + s);
                        synchronized (expected) {
                            System.arraycopy(data, 0, expected[which], (int) sector * 512, 512);
                        }
                    } else {
                        byte[] got = read(targets[which], sector, 1);
                        byte[] want;
                        synchronized (expected) {
                            want = java.util.Arrays.copyOfRange(expected[which], (int) sector * 512, (int) sector * 512 + 512);
                        }
                        assertArrayEquals(want, got, "target " + which + " sector " + sector);
                        checks++;
                    }
                }
                return checks;
            }));
        }
        int checks = 0;
        for (Future<Integer> f : runs) checks += f.get(100, TimeUnit.SECONDS);
        pool.shutdown();
        assertTrue(checks > 500, "reads checked: " + checks);
        for (int i = 0; i < 3; i++) assertArrayEquals(expected[i], read(targets[i], 0, (int) SECTORS), "whole target " + i);
        assertTrue(a.status(StatusType.INFO).matches("\\d+/8192 \\d+"), a.status(StatusType.INFO));

        // the persistent store read back from disk shows the same snapshot
        a.presuspend(false);
        a.postsuspend();
        a.destroy();
        SnapshotTarget again = rig.snapshot("/origin /cowA P 8", SECTORS);
        assertArrayEquals(expected[1], read(again, 0, (int) SECTORS), "snapshot a from its store on disk");
    }

    @Test
    void largeRequestsAcrossManyChunksAreSplitAndJoined() {
        MemoryDevice originMem = rig.randomDevice("/origin", SECTORS, 4);
        rig.device("/cow", 8192);
        byte[] initial = originMem.contents(0, SECTORS);
        OriginTarget o = rig.origin("/origin", SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", SECTORS);
        byte[] big = new byte[300 * 512];
        new Random(1).nextBytes(big);
        assertTrue(write(o, 13, big).isOk());
        assertTrue(write(s, 1000, big).isOk());
        byte[] want = initial.clone();
        System.arraycopy(big, 0, want, 1000 * 512, big.length);
        assertArrayEquals(want, read(s, 0, (int) SECTORS));
        Completion z = new Completion();
        s.map(Bio.writeZeroes(2000, 100, 0, z));
        assertTrue(z.get().isOk());
        System.arraycopy(new byte[100 * 512], 0, want, 2000 * 512, 100 * 512);
        assertArrayEquals(want, read(s, 0, (int) SECTORS), "write-zeroes lands in the COW like a write");
        assertNotNull(ByteBuffer.wrap(big));
    }
}
