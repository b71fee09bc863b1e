package org.ddmapper.it.mirror;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.zip.GZIPInputStream;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.it.multipath.MultipathFixture;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk log against the real kernel (Debian's 6.1 under qemu, tests/kernel/kdm-vm.sh), both ways.
 * Legs are 4 MiB in 16 regions; every sector holds one word naming its pattern letter and sector.
 * To see that a resync copies only the dirty regions, the leg that is copied to gets a marker
 * pattern ('M') in every region its log calls clean: afterwards those regions must still hold the
 * marker, and every dirty region must equal the source leg.
 * <ul>
 * <li>Kernel to ddmapper (no VM): the images tests/kernel/mirror/make-kernel-images.sh made with
 *     the kernel (in src/test/resources, gzipped): a log left part-way through a resync, and one
 *     left by a crash with a write in flight.
 * <li>ddmapper to kernel (one VM boot, tests/kernel/mirror/kernel-reads-ddmapper-logs.sh): the
 *     same two situations made by ddmapper, resynced by the kernel; in the same boot, the kernel's
 *     status and table text of five tables and its reasons for refusing fifteen, compared with ours.
 * </ul>
 */
@Timeout(900)
class KernelLogInteropTest {
    static final int SECTORS = 8192;
    static final int REGION = 512;
    static final int REGIONS = 16;
    @TempDir Path dir;
    MultipathFixture fx;

    @BeforeEach
    void start() throws Exception {
        fx = new MultipathFixture(dir, "");
        Waits.awaitTypes(fx.dm, "mirror", "linear", "error", "delay");
    }

    @AfterEach
    void stop() { if (fx != null) fx.close(); }

    // ---- kernel to ddmapper ----

    @Test
    void ddmapperResyncsOnlyTheRegionsAKernelLogLeftPartWayMarksDirty() throws Exception {
        Path a = resource("partial-a");
        Path b = resource("partial-b");
        Path log = resource("partial-log");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), cleanRegions(log), "the kernel's log: regions 0-7 copied");
        markClean(b, log);
        fx.dm.create("m", "0 8192 mirror disk 2 " + log + " 512 2 " + a + " 0 " + b + " 0 1 handle_errors");
        awaitInSync("m");
        assertOnlyDirtyCopied(a, b, List.of(0, 1, 2, 3, 4, 5, 6, 7));
        assertEquals("8", recovered("m").details().get("regions"));
    }

    @Test
    void ddmapperResyncsTheRegionAKernelCrashLeftDirty() throws Exception {
        Path a = resource("crash-a");
        Path b = resource("crash-b");
        Path log = resource("crash-log");
        List<Integer> clean = cleanRegions(log);
        assertEquals(15, clean.size());
        assertTrue(!clean.contains(5), "the write in flight left region 5 dirty");
        assertArrayEquals(word('W', 2584), Arrays.copyOf(sector(a, 2584), 8), "leg a has the write");
        markClean(b, log);
        fx.dm.create("m", "0 8192 mirror disk 2 " + log + " 512 2 " + a + " 0 " + b + " 0");
        awaitInSync("m");
        assertOnlyDirtyCopied(a, b, clean);
        assertArrayEquals(word('W', 2587), Arrays.copyOf(sector(b, 2587), 8));
        assertEquals("1", recovered("m").details().get("regions"));
    }

    // ---- ddmapper to kernel ----

    @Test
    void theKernelResyncsOnlyWhatDdmapperLeftDirtyAndPrintsOurTexts() throws Exception {
        String vm = Peers.require("qemu-system-x86_64");
        Path script = Path.of(System.getProperty("user.dir"), "kernel", "kdm-vm.sh");
        assertTrue(Files.isExecutable(script), script + " is missing");
        // ours-partial: leg b's second half is the error target while ddmapper resyncs
        Path pa = pattern("p-a", 'A'), pb = pattern("p-b", 'B'), pl = zeros("p-log", 16);
        fx.dm.create("pb", "0 4096 linear " + pb + " 0\n4096 4096 error");
        fx.dm.create("p", "0 8192 mirror disk 2 " + pl + " 512 2 " + pa + " 0 dm:pb 0");
        Waits.await("p's resync done", () -> fx.status("p").contains(" 8/16 1 AS "));
        fx.dm.remove(DeviceRef.of("p"), false);
        fx.dm.remove(DeviceRef.of("pb"), false);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), cleanRegions(pl), "ddmapper's log: regions 0-7 copied and clean");
        // ours-crash: equal legs, nosync, leg b behind a delay that holds writes for a minute
        Path ca = pattern("c-a", 'C'), cb = pattern("c-b", 'C'), cl = zeros("c-log", 16);
        fx.dm.create("slow", "0 8192 delay " + cb + " 0 0 " + cb + " 0 60000");
        fx.dm.create("c", "0 8192 mirror disk 3 " + cl + " 512 nosync 2 " + ca + " 0 dm:slow 0");
        Path crashA = dir.resolve("crash-a"), crashB = dir.resolve("crash-b"), crashLog = dir.resolve("crash-log");
        try (DeviceManager.OpenDevice c = fx.dm.open(DeviceRef.of("c"))) {
            byte[] w = new byte[4096];
            for (int s = 0; s < 8; s++) System.arraycopy(sectorOf('W', 2584 + s), 0, w, s * 512, 512);
            CompletableFuture<IoStatus> inFlight = Io.writeAsync(c, 2584, w);
            Waits.await("the write reaches leg a", () -> Arrays.equals(word('W', 2584), Arrays.copyOf(sector(ca, 2584), 8)));
            // what a crash now leaves on disk
            Files.copy(cl, crashLog);
            Files.copy(ca, crashA);
            Files.copy(cb, crashB);
            fx.dm.remove(DeviceRef.of("c"), true);
            fx.dm.remove(DeviceRef.of("slow"), true);
            inFlight.cancel(false);
        }
        List<Integer> crashClean = cleanRegions(crashLog);
        assertEquals(15, crashClean.size(), "ddmapper's log has only region 5 dirty: " + crashClean);
        assertTrue(!crashClean.contains(5));
        markClean(pb, pl);
        markClean(crashB, crashLog);
        Path vdg = pattern("vdg", 'G'), vdh = pattern("vdh", 'H'), vdi = zeros("vdi", 16);
        Peers.Result r = Peers.run(600, script.toString(), "-t", "500", script.resolveSibling("mirror/kernel-reads-ddmapper-logs.sh").toString(),
                pa.toString(), pb.toString(), pl.toString(), crashA.toString(), crashB.toString(), crashLog.toString(),
                vdg.toString(), vdh.toString(), vdi.toString());
        assertEquals(0, r.exit(), vm + " run failed:\n" + r.output());
        assertOnlyDirtyCopied(pa, pb, List.of(0, 1, 2, 3, 4, 5, 6, 7));
        assertOnlyDirtyCopied(crashA, crashB, crashClean);
        Map<String, String> out = lines(r.output());
        assertEquals("0 8192 mirror 2 vda vdb 16/16 1 AA 3 disk vdc A", out.get("ours-partial status"));
        assertEquals("0 8192 mirror 2 vdd vde 16/16 1 AA 3 disk vdf A", out.get("ours-crash status"));
        compareTexts(out, vdg, vdh, vdi);
        compareRefusals(out, vdg, vdh, vdi);
    }

    private static final List<String> TABLES = List.of(
            "0 8192 mirror core 1 512 2 vdg 0 vdh 0",
            "0 8192 mirror core 2 512 nosync 2 vdg 0 vdh 0 1 handle_errors",
            "0 8192 mirror disk 2 vdi 512 2 vdg 0 vdh 0 2 handle_errors keep_log",
            "0 4096 mirror disk 3 vdi 512 sync 3 vdg 0 vdh 8 vdg 4096",
            "0 8192 mirror core 1 512 2 vdg 0 vdh 0 2 handle_errors handle_errors");

    /** The same tables in ddmapper, over files named like the guest's disks: the same table and status text. */
    private void compareTexts(Map<String, String> kernel, Path vdg, Path vdh, Path vdi) {
        String prefix = vdg.getParent() + "/";
        for (int n = 1; n <= TABLES.size(); n++) {
            String table = TABLES.get(n - 1).replace("vdg", vdg.toString()).replace("vdh", vdh.toString()).replace("vdi", vdi.toString());
            fx.dm.create("t" + n, table);
            long regions = Long.parseLong(table.split(" ")[1]) / REGION;
            int k = n;
            Waits.await("t" + n + " in sync", () -> fx.status("t" + k).contains(" " + regions + "/" + regions + " "));
            TargetStatus ourTable = fx.dm.table(DeviceRef.of("t" + n), false).get(0);
            TargetStatus ourStatus = fx.dm.status(DeviceRef.of("t" + n)).get(0);
            assertEquals(kernel.get("TABLE " + n), ourTable.toString().replace(prefix, ""), "table " + n);
            assertEquals(kernel.get("STATUS " + n), ourStatus.toString().replace(prefix, ""), "status " + n);
            fx.dm.remove(DeviceRef.of("t" + n), true);
        }
    }

    private static final List<String> BAD = List.of(
            "core 1 1000 2 vdg 0 vdh 0", "core 2 512 bogus 2 vdg 0 vdh 0", "core 0 2 vdg 0 vdh 0", "core x 512 2 vdg 0 vdh 0",
            "core", "core 1 512 1 vdg 0", "core 1 512 2 vdg 0", "core 1 512 2 vdg 0 vdh x", "core 1 512 2 vdg 0 vdh 0 1",
            "core 1 512 2 vdg 0 vdh 0 1 keep_log", "core 1 512 2 vdg 0 vdh 0 1 handle_error", "core 1 512 2 vdg 0 vdh 0 1 handle_errors x",
            "core 1 512 2 vdg 0 vdh 0 x handle_errors", "disk 1 vdi 2 2 vdg 0 vdh 0", "core 2 512 block_on_error 2 vdg 0 vdh 0");

    /** The guest's refusals: ours carry the same reason; block_on_error, refused by 6.1, is ddmapper's extension. */
    private void compareRefusals(Map<String, String> kernel, Path vdg, Path vdh, Path vdi) {
        for (int n = 1; n <= BAD.size(); n++) {
            String words = BAD.get(n - 1);
            String reason = kernel.get("REFUSE " + n);
            String table = "0 8192 mirror " + words.replace("vdg", vdg.toString()).replace("vdh", vdh.toString()).replace("vdi", vdi.toString());
            if (words.contains("block_on_error")) {
                assertEquals("Error creating mirror dirty log: unrecognised sync argument to dirty region log: block_on_error", reason);
                fx.dm.create("ok" + n, table);
                fx.dm.remove(DeviceRef.of("ok" + n), true);
                continue;
            }
            String ours;
            try {
                fx.dm.create("bad" + n, table);
                ours = "accepted";
            } catch (DmException e) {
                ours = e.getMessage();
            }
            assertTrue(ours.endsWith("mirror: " + reason), "refusal " + n + " (" + words + "): kernel '" + reason + "', ours '" + ours + "'");
        }
    }

    // ---- images ----

    private static byte[] word(char letter, int sector) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).put((byte) letter).put(new byte[3]).putInt(sector).array();
    }

    private static byte[] sectorOf(char letter, int sector) {
        byte[] w = word(letter, sector);
        byte[] s = new byte[512];
        for (int i = 0; i < 512; i += 8) System.arraycopy(w, 0, s, i, 8);
        return s;
    }

    private Path pattern(String name, char letter) throws IOException {
        Path p = dir.resolve(name);
        byte[] all = new byte[SECTORS * 512];
        for (int s = 0; s < SECTORS; s++) System.arraycopy(sectorOf(letter, s), 0, all, s * 512, 512);
        Files.write(p, all);
        return p;
    }

    private Path zeros(String name, int sectors) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, new byte[sectors * 512]);
        return p;
    }

    private Path resource(String name) throws IOException {
        Path p = dir.resolve(name + ".img");
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("kernel/" + name + ".img.gz"))) {
            Files.copy(in, p);
        }
        return p;
    }

    private static byte[] sector(Path file, int sector) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] b = new byte[512];
            f.seek((long) sector * 512);
            f.readFully(b);
            return b;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The regions a log's clean bitmap calls clean. */
    private static List<Integer> cleanRegions(Path log) throws IOException {
        byte[] b = Files.readAllBytes(log);
        assertEquals(0x4D695272, ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(0), "log magic");
        List<Integer> out = new ArrayList<>();
        for (int r = 0; r < REGIONS; r++) if ((b[1024 + r / 8] & (1 << (r % 8))) != 0) out.add(r);
        return out;
    }

    /** Overwrites every region the log calls clean with the marker pattern. */
    private static void markClean(Path leg, Path log) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(leg.toFile(), "rw")) {
            for (int r : cleanRegions(log)) {
                for (int s = r * REGION; s < (r + 1) * REGION; s++) {
                    f.seek((long) s * 512);
                    f.write(sectorOf('M', s));
                }
            }
        }
    }

    private static void assertOnlyDirtyCopied(Path from, Path to, List<Integer> clean) {
        for (int r = 0; r < REGIONS; r++) {
            for (int s = r * REGION; s < (r + 1) * REGION; s += 97) {
                byte[] expect = clean.contains(r) ? sectorOf('M', s) : sector(from, s);
                assertArrayEquals(expect, sector(to, s), "region " + r + (clean.contains(r) ? " (clean: not copied)" : " (dirty: copied)")
                        + ", sector " + s);
            }
        }
    }

    private void awaitInSync(String device) {
        Waits.await(device + " in sync", () -> fx.status(device).contains(" 16/16 1 AA "));
    }

    private DeviceEvent recovered(String device) throws InterruptedException {
        List<DeviceEvent> e = fx.awaitEvents(device, EventKind.MIRROR_RECOVERY_COMPLETE, 1, 10_000);
        return e.get(e.size() - 1);
    }

    /** The guest's output lines by their key (everything before the device-mapper text). */
    private static Map<String, String> lines(String output) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            String[] w = line.split(" ", 3);
            if (w.length == 3 && (w[0].equals("TABLE") || w[0].equals("STATUS") || w[0].equals("REFUSE") || w[1].equals("status")))
                out.put(w[0] + " " + w[1], w[2]);
        }
        return out;
    }
}
