package org.ddmapper.it.multipath;

import static org.ddmapper.it.support.Io.get;
import static org.ddmapper.it.support.Io.pattern;
import static org.ddmapper.it.support.Io.readAsync;
import static org.ddmapper.it.support.Io.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Peers;

/**
 * Multipath over real NBD servers (nbdkit and qemu-nbd exporting one file), our NBD export
 * driven by fio with crc32c verification, while the servers are killed, restarted, hung and
 * resumed by pid. Everything runs on loopback and Unix sockets in a temp directory.
 */
@Timeout(300)
class RealPathsTest {
    static final long SECTORS = 65536; // 32 MiB
    @TempDir Path dir;
    private MultipathFixture fx;
    private final List<NbdPeer> peers = new ArrayList<>();
    private Path file;

    private void start(String defaults) throws Exception {
        Peers.require("nbdkit");
        Peers.require("qemu-nbd");
        fx = new MultipathFixture(dir, "defaults {\n polling_interval 0.2\n max_polling_interval 0.4\n checker_timeout 0.5\n"
                + defaults + "\n}\n");
        file = fx.backingFile("lun.img", SECTORS);
    }

    private NbdPeer peer(NbdPeer p) {
        peers.add(p);
        return p;
    }

    @AfterEach
    void tearDown() {
        peers.forEach(NbdPeer::close);
        if (fx != null) fx.close();
    }

    @Test
    void fioVerifiesCleanWhilePathServersAreKilledRestartedHungAndResumed() throws Exception {
        start("");
        Peers.require("fio");
        peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, file, dir.resolve("p1.sock")));
        peer(NbdPeer.unix(NbdPeer.Kind.QEMU_NBD, file, dir.resolve("p2.sock")));
        peer(NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir));
        peer(NbdPeer.tcp(NbdPeer.Kind.QEMU_NBD, file, dir));
        StringBuilder refs = new StringBuilder();
        for (NbdPeer p : peers) refs.append(' ').append(p.reference());
        fx.dm.create("mpatha", "0 " + SECTORS + " multipath 3 queue_if_no_path path_io_timeout_msecs 1000 0 1 1 "
                + "round-robin 0 4 0" + refs);
        String uri = "nbd://" + fx.nbdAddress() + "/mpatha";

        // two chaos loops, each over two of the four servers: at most two paths are down at once
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger kills = new AtomicInteger();
        AtomicInteger hangs = new AtomicInteger();
        List<Thread> chaos = new ArrayList<>();
        List<Throwable> chaosErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < 2; t++) {
            List<NbdPeer> mine = List.of(peers.get(t), peers.get(t + 2));
            Random random = new Random(6 + t);
            chaos.add(new Thread(() -> {
                try {
                    while (!stop.get()) {
                        NbdPeer victim = mine.get(random.nextInt(mine.size()));
                        if (random.nextInt(10) < 7) {
                            victim.kill();
                            kills.incrementAndGet();
                            Thread.sleep(50 + random.nextInt(150));
                            victim.start();
                        } else {
                            victim.hang();
                            hangs.incrementAndGet();
                            Thread.sleep(1100 + random.nextInt(500)); // past the 1 s path I/O timeout
                            victim.resume();
                        }
                        Thread.sleep(100 + random.nextInt(100));
                    }
                } catch (Exception | AssertionError e) {
                    chaosErrors.add(e);
                }
            }, "chaos-" + t));
        }
        List<Fio.Result> runs = new ArrayList<>();
        long end = System.currentTimeMillis() + 50_000;
        chaos.forEach(Thread::start);
        try {
            // 50 s of chaos, extended (up to 40 s) on a loaded machine until the run holds hundreds of path events
            while (System.currentTimeMillis() < end
                    || (fx.pathEventKinds("mpatha").size() < 220 && System.currentTimeMillis() < end + 40_000)) {
                // the same job every run: a write a hung server carries out late is the same data
                runs.add(Fio.run(uri, 120, "--rw=randwrite", "--bs=4k", "--size=4m", "--numjobs=4", "--offset_increment=4m",
                        "--iodepth=16", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--group_reporting"));
                Fio.Result last = runs.get(runs.size() - 1);
                assertEquals(0, last.exitCode(), "fio run " + runs.size() + ":\n" + last.output());
                assertFalse(last.verifyFailed(), last.output());
            }
        } finally {
            stop.set(true);
            for (Thread t : chaos) t.join(10_000);
        }
        assertTrue(chaosErrors.isEmpty(), "chaos loop failed: " + chaosErrors);
        for (NbdPeer p : peers) p.ensureRunning();
        // settle: every path active and no path event for two seconds (a resumed server may still be
        // working off its backlog, and the checker can fail it once more meanwhile)
        long settleEnd = System.currentTimeMillis() + 60_000;
        int seen = -1;
        long quietSince = System.currentTimeMillis();
        while (true) {
            int now = fx.pathEventKinds("mpatha").size();
            if (now != seen) {
                seen = now;
                quietSince = System.currentTimeMillis();
            }
            boolean allActive = !fx.status("mpatha").contains(" F ");
            if (allActive && System.currentTimeMillis() - quietSince > 2000) break;
            if (System.currentTimeMillis() > settleEnd) {
                StringBuilder why = new StringBuilder("paths did not settle: " + fx.status("mpatha") + "\n"
                        + fx.message("mpatha", "show", "paths") + fx.message("mpatha", "show", "daemon"));
                for (NbdPeer p : peers) why.append(p.reference()).append(" alive=").append(p.isAlive()).append(' ')
                        .append(Files.exists(p.log) ? Files.readString(p.log) : "").append('\n');
                org.junit.jupiter.api.Assertions.fail(why.toString());
            }
            Thread.sleep(100);
        }
        List<DeviceEvent> failed = fx.events("mpatha", EventKind.PATH_FAILED);
        List<DeviceEvent> back = fx.events("mpatha", EventKind.PATH_REINSTATED);
        System.out.printf("chaos: %d fio runs, %d kills, %d hangs, %d PATH_FAILED, %d PATH_REINSTATED%n",
                runs.size(), kills.get(), hangs.get(), failed.size(), back.size());
        assertTrue(failed.size() + back.size() >= 200, "hundreds of path events: " + failed.size() + " + " + back.size());
        // every event carries its payload, and per path they alternate: failed, reinstated, failed, ...
        Map<String, List<String>> perPath = new HashMap<>();
        for (DeviceEvent e : fx.events.stream().filter(e -> e.device().equals("mpatha")).toList()) {
            if (e.kind() != EventKind.PATH_FAILED && e.kind() != EventKind.PATH_REINSTATED) continue;
            for (String key : List.of("path", "number", "group", "reason", "valid_paths")) assertNotNull(e.details().get(key), e.toLine());
            if (e.kind() == EventKind.PATH_FAILED) assertNotNull(e.details().get("fail_count"), e.toLine());
            perPath.computeIfAbsent(e.details().get("path"), k -> new ArrayList<>()).add(e.kind().name());
        }
        String info = fx.status("mpatha");
        for (NbdPeer p : peers) {
            List<String> seq = perPath.getOrDefault(p.reference(), List.of());
            for (int i = 0; i < seq.size(); i++)
                assertEquals(i % 2 == 0 ? "PATH_FAILED" : "PATH_REINSTATED", seq.get(i), p.reference() + " event " + i);
            long fails = seq.stream().filter("PATH_FAILED"::equals).count();
            // INFO: "<path> A <fail_count>": the fail count in status is the number of PATH_FAILED events
            assertTrue(info.contains(p.reference() + " A " + fails), p.reference() + " failed " + fails + " times; status " + info);
        }
    }

    @Test
    void allServersDownQueuesUntilOneReturns() throws Exception {
        start("");
        NbdPeer a = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, file, dir.resolve("a.sock")));
        NbdPeer b = peer(NbdPeer.unix(NbdPeer.Kind.QEMU_NBD, file, dir.resolve("b.sock")));
        fx.dm.create("mpatha", "0 " + SECTORS + " multipath 1 queue_if_no_path 0 1 1 queue-length 0 2 0 "
                + a.reference() + " " + b.reference());
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            a.kill();
            b.kill();
            byte[] data = pattern(65536, 3);
            CompletableFuture<IoStatus> waiting = writeAsync(mp, 2048, data);
            fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 2, 10_000);
            Thread.sleep(1000);
            assertFalse(waiting.isDone(), "queued while every server is down");
            b.start();
            assertEquals(IoStatus.OK, get(waiting));
            ByteBuffer into = ByteBuffer.allocate(65536);
            assertEquals(IoStatus.OK, get(readAsync(mp, 2048, into)));
            assertArrayEquals(data, into.array());
            byte[] onDisk = new byte[65536];
            try (var ch = java.nio.channels.FileChannel.open(file)) {
                ch.read(ByteBuffer.wrap(onDisk), 2048L * 512);
            }
            assertArrayEquals(data, onDisk);
        }
    }

    @Test
    void storageErrorsFromTheServerReachTheCallerAndFailNoPath() throws Exception {
        start("");
        Path trigger = dir.resolve("enospc");
        NbdPeer a = peer(NbdPeer.unixWithArgs(NbdPeer.Kind.NBDKIT, file, dir.resolve("a.sock"),
                "--filter=error", "file", "file=" + file, "error=ENOSPC", "error-pwrite-rate=100%", "error-pwrite-file=" + trigger));
        NbdPeer b = peer(NbdPeer.unixWithArgs(NbdPeer.Kind.NBDKIT, file, dir.resolve("b.sock"),
                "--filter=error", "file", "file=" + file, "error=ENOSPC", "error-pwrite-rate=100%", "error-pwrite-file=" + trigger));
        fx.dm.create("mpatha", "0 " + SECTORS + " multipath 0 0 1 1 round-robin 0 2 0 " + a.reference() + " " + b.reference());
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            assertEquals(IoStatus.OK, get(writeAsync(mp, 0, pattern(4096, 1))));
            Files.createFile(trigger); // the storage is full from now on
            for (int i = 0; i < 6; i++) {
                IoStatus s = get(writeAsync(mp, 8L * i, pattern(4096, 2)));
                assertEquals(Errno.ENOSPC, s.errno(), "write " + i + ": " + s);
            }
            assertEquals(IoStatus.OK, get(readAsync(mp, 0, ByteBuffer.allocate(4096))), "reads still work");
            Thread.sleep(600); // a few checker rounds: the servers answer, so the paths stay up
            assertTrue(fx.events("mpatha", EventKind.PATH_FAILED).isEmpty(), fx.events("mpatha", EventKind.PATH_FAILED).toString());
            assertTrue(fx.status("mpatha").endsWith(" A 0 " + b.reference() + " A 0 "), fx.status("mpatha"));
            Files.delete(trigger);
            assertEquals(IoStatus.OK, get(writeAsync(mp, 0, pattern(4096, 3))));
        }
    }
}
