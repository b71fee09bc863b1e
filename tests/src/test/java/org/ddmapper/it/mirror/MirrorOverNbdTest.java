package org.ddmapper.it.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.it.multipath.Fio;
import org.ddmapper.it.multipath.MultipathFixture;
import org.ddmapper.it.multipath.NbdPeer;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote legs: a mirror whose legs are NBD exports of real servers (nbdkit, qemu-nbd) on Unix
 * sockets, exported by our NBD server and driven by fio with crc32c verification, while a leg's
 * server is killed and restarted and the leg brought back by a reload; and a mirror of two
 * multipath maps, each over two servers, while a path of each dies. At the end the legs' files
 * are compared byte for byte.
 */
@Timeout(300)
class MirrorOverNbdTest {
    static final long SECTORS = 65536; // 32 MiB
    @TempDir Path dir;
    MultipathFixture fx;
    final List<NbdPeer> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Peers.require("nbdkit");
        Peers.require("qemu-nbd");
        Peers.require("fio");
        fx = new MultipathFixture(dir, "defaults {\n polling_interval 0.2\n max_polling_interval 0.4\n checker_timeout 0.5\n}\n");
        Waits.awaitTypes(fx.dm, "mirror", "multipath");
    }

    @AfterEach
    void stop() {
        peers.forEach(NbdPeer::close);
        if (fx != null) fx.close();
    }

    private NbdPeer peer(NbdPeer p) {
        peers.add(p);
        return p;
    }

    /** fio runs one after the other until stopped; each must end clean. */
    private final class FioLoop implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Fio.Result> runs = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final Thread thread;

        FioLoop(String uri) {
            thread = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        runs.add(Fio.run(uri, 120, "--rw=randwrite", "--bs=4k", "--size=4m", "--numjobs=2", "--offset_increment=8m",
                                "--iodepth=16", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--group_reporting"));
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "fio-loop");
            thread.start();
        }

        /** Waits until at least {@code n} runs have ended. */
        void awaitRuns(int n) { Waits.await(n + " fio runs", () -> runs.size() >= n || !errors.isEmpty()); }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(150_000);
            assertTrue(errors.isEmpty(), "fio loop failed: " + errors);
            assertFalse(runs.isEmpty());
            for (Fio.Result r : runs) {
                assertEquals(0, r.exitCode(), r.output());
                assertFalse(r.verifyFailed(), r.output());
            }
        }
    }

    private void awaitInSync(String device) {
        Waits.await(device + " in sync: " + fx.status(device), () -> fx.status(device).contains(" 64/64 1 AA "));
    }

    @Test
    void fioVerifiesCleanWhileALegsServerIsKilledAndTheLegIsReloaded() throws Exception {
        Path a = fx.backingFile("a.img", SECTORS);
        Path b = fx.backingFile("b.img", SECTORS);
        Path log = fx.backingFile("log.img", 8);
        NbdPeer pa = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, a, dir.resolve("a.sock")));
        NbdPeer pb = peer(NbdPeer.unix(NbdPeer.Kind.QEMU_NBD, b, dir.resolve("b.sock")));
        String table = "0 " + SECTORS + " mirror disk 2 " + log + " 1024 2 " + pa.reference() + " 0 " + pb.reference() + " 0 1 handle_errors";
        fx.dm.create("m", table);
        awaitInSync("m");
        try (FioLoop fio = new FioLoop("nbd://" + fx.nbdAddress() + "/m")) {
            fio.awaitRuns(1);
            pb.kill();
            DeviceEvent failed = fx.awaitEvents("m", EventKind.MIRROR_LEG_FAILED, 1, 30_000).get(0);
            assertEquals("1", failed.details().get("leg"));
            assertEquals(pb.reference(), failed.details().get("device"));
            // the first request to find the server gone is a write (D) or a flush (F)
            assertTrue(fx.status("m").matches(".* 1 A[DF] 3 disk .*"), fx.status("m"));
            assertTrue(List.of("D", "F").contains(failed.details().get("state")), failed.toLine());
            fio.awaitRuns(fio.runs.size() + 1); // a whole run on one leg
            pb.start();
            fx.reload("m", table);
            awaitInSync("m");
            fio.awaitRuns(fio.runs.size() + 1);
        }
        List<DeviceEvent> recovered = fx.events("m", EventKind.MIRROR_RECOVERY_COMPLETE);
        long copied = Long.parseLong(recovered.get(recovered.size() - 1).details().get("regions"));
        assertTrue(copied > 0 && copied <= 64, "the reload copied the regions written while the leg was out: " + copied);
        fx.dm.suspend(DeviceRef.of("m"), false);
        fx.dm.resume(DeviceRef.of("m"));
        assertEquals(-1, Files.mismatch(a, b), "after the resync the legs are equal");
    }

    @Test
    void aMirrorOfTwoMultipathMapsRidesOutAPathFailureInEach() throws Exception {
        Path a = fx.backingFile("a.img", SECTORS);
        Path b = fx.backingFile("b.img", SECTORS);
        NbdPeer a1 = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, a, dir.resolve("a1.sock")));
        NbdPeer a2 = peer(NbdPeer.unix(NbdPeer.Kind.QEMU_NBD, a, dir.resolve("a2.sock")));
        NbdPeer b1 = peer(NbdPeer.unix(NbdPeer.Kind.QEMU_NBD, b, dir.resolve("b1.sock")));
        NbdPeer b2 = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, b, dir.resolve("b2.sock")));
        fx.dm.create("mpa", "0 " + SECTORS + " multipath 0 0 1 1 round-robin 0 2 0 " + a1.reference() + " " + a2.reference());
        fx.dm.create("mpb", "0 " + SECTORS + " multipath 0 0 1 1 round-robin 0 2 0 " + b1.reference() + " " + b2.reference());
        fx.dm.create("m", "0 " + SECTORS + " mirror core 1 1024 2 dm:mpa 0 dm:mpb 0 1 handle_errors");
        awaitInSync("m");
        try (FioLoop fio = new FioLoop("nbd://" + fx.nbdAddress() + "/m")) {
            fio.awaitRuns(1);
            a2.kill();
            b1.kill();
            fx.awaitEvents("mpa", EventKind.PATH_FAILED, 1, 30_000);
            fx.awaitEvents("mpb", EventKind.PATH_FAILED, 1, 30_000);
            fio.awaitRuns(fio.runs.size() + 1);
            a2.start();
            b1.start();
            fio.awaitRuns(fio.runs.size() + 1);
        }
        assertTrue(fx.events("m", EventKind.MIRROR_LEG_FAILED).isEmpty(), "multipath hid the path failures from the mirror");
        assertTrue(fx.status("m").contains(" 64/64 1 AA 1 core"), fx.status("m"));
        fx.dm.suspend(DeviceRef.of("m"), false);
        fx.dm.resume(DeviceRef.of("m"));
        assertEquals(-1, Files.mismatch(a, b));
    }
}
