package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;

/**
 * Live upgrade of the snapshot bundle under I/O: an origin with a persistent and a transient
 * snapshot, each written and read back by its own client, while the bundle is updated again and
 * again. No request fails, every read-back matches, and afterwards each snapshot still shows the
 * origin as it was when the snapshot was taken plus exactly its own writes — no copy-out was lost
 * while the origin's and the snapshots' targets were rebuilt on the new code (in either order).
 */
@Timeout(300)
class SnapshotLiveUpgradeTest {
    static final String BUNDLE = "org.ddmapper.target.snapshot";
    static final int SECTORS = 16384; // 8 MiB
    static final int UPDATES = 8;
    @TempDir Path dir;

    /** A client writing random runs to its device and reading each back, keeping the expected contents. */
    static final class Client implements java.util.concurrent.Callable<Void> {
        final BlockDevice dev;
        final byte[] expected;
        final Random rnd;
        final AtomicBoolean stop;
        final AtomicInteger errors = new AtomicInteger();
        final AtomicInteger mismatches = new AtomicInteger();
        final AtomicInteger ops = new AtomicInteger();
        final List<String> firstErrors = new java.util.concurrent.CopyOnWriteArrayList<>();

        Client(BlockDevice dev, byte[] initial, long seed, AtomicBoolean stop) {
            this.dev = dev;
            this.expected = initial.clone();
            this.rnd = new Random(seed);
            this.stop = stop;
        }

        @Override
        public Void call() {
            while (!stop.get()) {
                int n = 1 + rnd.nextInt(24);
                int sector = rnd.nextInt(SECTORS - n);
                byte[] data = new byte[n * 512];
                rnd.nextBytes(data);
                IoStatus w = Io.write(dev, sector, data);
                ByteBuffer back = ByteBuffer.allocate(data.length);
                IoStatus r = Io.read(dev, sector, back);
                if (!w.isOk() || !r.isOk()) {
                    errors.incrementAndGet();
                    if (firstErrors.size() < 5) firstErrors.add(w + " / " + r);
                    continue;
                }
                System.arraycopy(data, 0, expected, sector * 512, data.length);
                if (!java.util.Arrays.equals(data, back.array())) mismatches.incrementAndGet();
                ops.incrementAndGet();
            }
            return null;
        }
    }

    @Test
    void updatingTheBundleUnderIoLosesNoCopyOutAndFailsNoRequest() throws Exception {
        byte[] initial = new byte[SECTORS * 512];
        new Random(77).nextBytes(initial);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        Path cowP = Files.write(dir.resolve("cow-p.img"), new byte[SECTORS * 512]);
        Path cowN = Files.write(dir.resolve("cow-n.img"), new byte[SECTORS * 512]);
        try (EmbeddedFramework fw = EmbeddedFramework.start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, "snapshot-origin", "snapshot");
            dm.create("snap-p", "0 " + SECTORS + " snapshot " + origin + " " + cowP + " P 8");
            dm.create("snap-n", "0 " + SECTORS + " snapshot " + origin + " " + cowN + " N 16");
            dm.create("base", "0 " + SECTORS + " snapshot-origin " + origin);
            Path jar = EmbeddedFramework.bundleJar(BUNDLE);
            AtomicBoolean stop = new AtomicBoolean();
            List<BlockDevice> handles = new ArrayList<>();
            List<Client> clients = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                String[] names = {"base", "snap-p", "snap-n"};
                for (int i = 0; i < names.length; i++) {
                    BlockDevice h = dm.open(DeviceRef.of(names[i]));
                    handles.add(h);
                    clients.add(new Client(h, initial, i, stop));
                }
                List<Future<Void>> running = new ArrayList<>();
                for (Client c : clients) running.add(pool.submit(c));
                Thread.sleep(300);
                for (int i = 0; i < UPDATES; i++) {
                    fw.update(fw.bundle(BUNDLE), jar);
                    for (String n : names) Waits.await(n + " live again", () -> !dm.info(DeviceRef.of(n)).suspended()
                            && dm.info(DeviceRef.of(n)).missingType() == null);
                    Thread.sleep(100);
                }
                Thread.sleep(300);
                stop.set(true);
                for (Future<Void> f : running) f.get(60, TimeUnit.SECONDS);
                for (int i = 0; i < clients.size(); i++) {
                    Client c = clients.get(i);
                    assertEquals(0, c.errors.get(), names[i] + ": I/O errors " + c.firstErrors);
                    assertEquals(0, c.mismatches.get(), names[i] + ": read-back mismatches");
                    assertTrue(c.ops.get() > 20, names[i] + " kept running: " + c.ops.get());
                    assertArrayEquals(c.expected, Io.read(handles.get(i), 0, SECTORS * 512),
                            names[i] + ": the whole device, after " + UPDATES + " updates");
                }
                for (String n : names) {
                    long swaps = dm.events(DeviceRef.of(n), 0).stream().filter(e -> e.kind() == EventKind.BUNDLE_SWAPPED).count();
                    assertEquals(UPDATES, swaps, n + " swapped once per update");
                    assertTrue(dm.events(DeviceRef.of(n), 0).stream().noneMatch(e -> e.kind() == EventKind.SNAPSHOT_INVALID), n);
                }
                assertEquals(Bundle.ACTIVE, fw.bundle(BUNDLE).getState());
            } finally {
                stop.set(true);
                pool.shutdownNow();
                for (BlockDevice h : handles) h.close();
            }
        }
    }
}
