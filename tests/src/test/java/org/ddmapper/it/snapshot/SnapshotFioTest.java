package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * fio writing with crc32c verification through an origin over NBD while snapshots of it are taken
 * (as lvcreate does: the origin suspended, the snapshot created, the origin resumed) and removed;
 * at each snapshot's instant the origin is copied with qemu-img convert while it is suspended.
 * fio's verification passes, and every snapshot that is left compares equal to its copy
 * (qemu-img compare over NBD). fio's writes are paced (250 IOPS, 3 passes of 16 MiB: six seconds
 * and more) so that all four snapshots fall into its write phase on any machine.
 */
@Timeout(600)
class SnapshotFioTest {
    static final int MIB = 16;
    static final long SECTORS = MIB * 2048L;
    @TempDir Path dir;

    @Test
    void snapshotsTakenAndRemovedUnderFioEqualTheirInstantsCopy() throws Exception {
        String fio = Peers.require("fio");
        String qemuImg = Peers.require("qemu-img");
        byte[] initial = new byte[MIB << 20];
        new Random(5).nextBytes(initial);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        try (Appliance a = Appliance.start(dir.resolve("home"))) {
            ok(a.ddsetup("create", "base", "--table", "0 " + SECTORS + " snapshot-origin " + origin));
            Process load = new ProcessBuilder(fio, "--ioengine=nbd", "--uri=" + a.nbdUri("base"), "--name=snapload", "--rw=randwrite",
                    "--bsrange=4k-64k", "--size=" + MIB + "m", "--iodepth=16", "--rate_iops=250", "--verify=crc32c", "--do_verify=1", "--loops=3",
                    "--randrepeat=0", "--output-format=normal", "--eta=never", "--verify_state_save=0")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("fio.log").toFile()).start();
            List<Integer> kept = new ArrayList<>();
            try {
                for (int k = 1; k <= 4 && load.isAlive(); k++) {
                    Thread.sleep(700);
                    Path cow = Files.write(dir.resolve("cow-" + k + ".img"), new byte[(MIB + 2) << 20]);
                    ok(a.ddsetup("suspend", "base"));
                    try {
                        Peers.ok(60, qemuImg, "convert", "-f", "raw", "-O", "raw", origin.toString(), dir.resolve("copy-" + k + ".img").toString());
                        ok(a.ddsetup("create", "snap-" + k, "--table", "0 " + SECTORS + " snapshot " + origin + " " + cow + " P 8"));
                    } finally {
                        ok(a.ddsetup("resume", "base"));
                    }
                    kept.add(k);
                    if (k == 3) {
                        ok(a.ddsetup("remove", "snap-1")); // removed while fio writes on
                        kept.remove(Integer.valueOf(1));
                    }
                }
                assertTrue(load.waitFor(400, TimeUnit.SECONDS), "fio did not finish");
            } finally {
                if (load.isAlive()) Peers.kill(load);
            }
            String log = Files.readString(dir.resolve("fio.log"));
            assertEquals(0, load.exitValue(), "fio failed:\n" + log);
            assertTrue(log.contains("err= 0") && !log.contains("bad magic") && !log.contains("verify failed") && !log.contains("mismatch"),
                    "fio's verification failed:\n" + log);
            assertTrue(log.matches("(?s).*issued rwts: total=(\\d+),\\1,.*"), "fio read back (verified) every block it wrote:\n" + log);
            assertEquals(List.of(2, 3, 4), kept, "snapshots were taken and one removed while fio ran:\n" + log);
            for (int k : kept) {
                Peers.Result r = Peers.run(120, qemuImg, "compare", "-f", "raw", "-F", "raw", a.nbdUri("snap-" + k),
                        dir.resolve("copy-" + k + ".img").toString());
                assertEquals(0, r.exit(), "snap-" + k + " differs from the origin at its instant: " + r.output());
            }
            String status = ok(a.ddsetup("status"));
            assertFalse(status.contains("Invalid"), status);
            assertFalse(status.contains("snap-1"), "removed: " + status);
        }
    }

    private static String ok(Appliance.Exit e) {
        assertEquals(0, e.code(), e.toString());
        return e.stdout();
    }
}
