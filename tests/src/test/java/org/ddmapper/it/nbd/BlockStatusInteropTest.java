package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * NBD base:allocation end to end: real clients (nbdinfo --map, qemu-img map, qemu-io, nbdcopy,
 * qemu-img convert) and a raw REQ_ONE query against mapped devices over sparse files, striped
 * and zero segments, in a running framework.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BlockStatusInteropTest {
    static final int K = 1024, M = 1024 * 1024;
    static final int DATA = 0, HOLE_ZERO = 3;
    private static final Pattern NBDINFO_ENTRY =
            Pattern.compile("\"offset\": (\\d+), \"length\": (\\d+), \"type\": (\\d+)");
    private static final Pattern QEMU_ENTRY =
            Pattern.compile("\"start\": (\\d+), \"length\": (\\d+), .*?\"zero\": (true|false), \"data\": (true|false)");
    NbdFixture fx;

    @BeforeAll
    void start() throws Exception {
        fx = new NbdFixture();
    }

    @AfterAll
    void stop() {
        if (fx != null) fx.close();
    }

    /** A run as nbdinfo --map reports it: offset, length, type (0 data, 3 hole+zero). */
    record Run(long offset, long length, int type) {
    }

    /** A sparse file of {@code bytes} with random data (seeded by offset) at each {offset, length}. */
    private Path sparseFile(String name, long bytes, long[]... data) throws Exception {
        Path file = fx.dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
            for (long[] d : data) {
                f.seek(d[0]);
                f.write(NbdFixture.random((int) d[1], d[0]));
            }
        }
        return file;
    }


    private List<Run> nbdinfoMap(String export) throws Exception {
        String json = Peers.ok(30, Peers.require("nbdinfo"), "--map", "--json", fx.uri(export));
        List<Run> runs = new ArrayList<>();
        Matcher m = NBDINFO_ENTRY.matcher(json);
        while (m.find()) runs.add(new Run(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Integer.parseInt(m.group(3))));
        assertFalse(runs.isEmpty(), json);
        return runs;
    }

    /** qemu-img map's runs in the same form (data false and zero true is a hole). */
    private List<Run> qemuImgMap(String export) throws Exception {
        String json = Peers.ok(30, Peers.require("qemu-img"), "map", "--output=json", "-f", "raw", fx.uri(export));
        List<Run> runs = new ArrayList<>();
        Matcher m = QEMU_ENTRY.matcher(json);
        while (m.find()) {
            int type = Boolean.parseBoolean(m.group(4)) ? DATA : Boolean.parseBoolean(m.group(3)) ? HOLE_ZERO : -1;
            runs.add(new Run(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), type));
        }
        assertFalse(runs.isEmpty(), json);
        return runs;
    }

    private static long allocatedBytes(Path file) throws Exception {
        return Long.parseLong(Peers.ok(10, "/usr/bin/stat", "-c", "%b", file.toString()).trim()) * 512;
    }

    @Test
    void theHolesOfASparseFileShowThroughALinearDeviceAtTheirOffsets() throws Exception {
        // data at 1M+64K (64K), 5M (4K) and the file's last 4K; the device maps the file from 1 MiB
        Path file = sparseFile("map.img", 8 * M, new long[] {M + 64 * K, 64 * K}, new long[] {5 * M, 4 * K},
                new long[] {8 * M - 4 * K, 4 * K});
        fx.dm.create("map", "0 " + 7 * M / 512 + " linear " + file + " " + M / 512);
        List<Run> expected = List.of(new Run(0, 64 * K, HOLE_ZERO), new Run(64 * K, 64 * K, DATA),
                new Run(128 * K, 4 * M - 128 * K, HOLE_ZERO), new Run(4 * M, 4 * K, DATA),
                new Run(4 * M + 4 * K, 3 * M - 8 * K, HOLE_ZERO), new Run(7 * M - 4 * K, 4 * K, DATA));
        assertEquals(expected, nbdinfoMap("map"));
        assertEquals(expected, qemuImgMap("map"), "qemu-img map (REQ_ONE queries) agrees");
    }

    @Test
    void reqOneAnswersExactlyOneExtentWithinTheRequest() throws Exception {
        Path file = sparseFile("one.img", 4 * M, new long[] {M, 64 * K});
        fx.dm.create("one", "0 " + 4 * M / 512 + " linear " + file + " 0");
        int reqOne = 1 << 3;
        List<int[]> one = RawNbd.blockStatus(fx.address, "one", reqOne, 0, 4 * M);
        assertEquals(1, one.size(), "REQ_ONE: one descriptor");
        assertArrayEquals(new int[] {M, HOLE_ZERO}, one.get(0));
        List<int[]> inData = RawNbd.blockStatus(fx.address, "one", reqOne, M + 4 * K, 8 * K);
        assertEquals(1, inData.size());
        assertArrayEquals(new int[] {8 * K, DATA}, inData.get(0), "clipped to the request's end, not the run's");
        List<int[]> all = RawNbd.blockStatus(fx.address, "one", 0, 512 * K, 2 * M);
        assertEquals(List.of(List.of(512 * K, HOLE_ZERO), List.of(64 * K, DATA), List.of(M + 448 * K, HOLE_ZERO)),
                all.stream().map(d -> List.of(d[0], d[1])).toList(), "without REQ_ONE: every run, the last ending at the request's end");
    }

    @Test
    void stripedChunksAndAZeroSegmentReportTheirHolesMerged() throws Exception {
        // two stripes of 64 KiB chunks: stripe 0 all data, stripe 1 all hole; then a 1 MiB zero segment
        Path a = sparseFile("stripe-a.img", M, new long[] {0, M});
        Path b = sparseFile("stripe-b.img", M);
        fx.dm.create("striped-zero", "0 4096 striped 2 128 " + a + " 0 " + b + " 0\n4096 2048 zero");
        List<Run> expected = new ArrayList<>();
        for (int chunk = 0; chunk < 16; chunk++) {
            expected.add(new Run(chunk * 128L * K, 64 * K, DATA));
            expected.add(new Run(chunk * 128L * K + 64 * K, chunk == 15 ? 64 * K + M : 64 * K, HOLE_ZERO));
        }
        assertEquals(expected, nbdinfoMap("striped-zero"), "the last chunk's hole and the zero segment are one run");
    }

    @Test
    void trimAndUnmappingZeroesPunchHolesThatMapAsHolesAndReadAsZeros() throws Exception {
        Path file = sparseFile("trim.img", 4 * M, new long[] {0, 4 * M});
        fx.dm.create("trim", "0 " + 4 * M / 512 + " linear " + file + " 0");
        assertEquals(List.of(new Run(0, 4 * M, DATA)), nbdinfoMap("trim"));
        String out = Peers.ok(60, Peers.require("qemu-io"), "-f", "raw", fx.uri("trim"),
                "-c", "discard 1M 512k",
                "-c", "write -z -u 3M 256k",
                "-c", "write -z 2M 64k",       // NO_HOLE: stays allocated
                "-c", "read -P 0 1M 512k",
                "-c", "read -P 0 3M 256k");
        assertFalse(out.contains("fail") || out.contains("mismatch"), out);
        assertEquals(List.of(new Run(0, M, DATA), new Run(M, 512 * K, HOLE_ZERO), new Run(M + 512 * K, 3 * M / 2, DATA),
                new Run(3 * M, 256 * K, HOLE_ZERO), new Run(3 * M + 256 * K, 768 * K, DATA)), nbdinfoMap("trim"));
        byte[] bytes = Files.readAllBytes(file);
        byte[] original = NbdFixture.random(4 * M, 0);
        for (int i = 0; i < 4 * M; i += 512) {
            boolean zero = (i >= M && i < M + 512 * K) || (i >= 2 * M && i < 2 * M + 64 * K) || (i >= 3 * M && i < 3 * M + 256 * K);
            assertEquals(zero ? 0 : original[i], bytes[i], "byte " + i);
        }
        assertTrue(allocatedBytes(file) <= 4L * M - 768 * K, "the punched 768 KiB are no longer allocated: " + allocatedBytes(file));
    }

    @Test
    void copiesOfASparseExportStaySparseAndByteIdentical() throws Exception {
        long size = 64L * M;
        Path file = sparseFile("src.img", size, new long[] {0, 128 * K}, new long[] {20 * M, 256 * K}, new long[] {63 * M, 64 * K});
        fx.dm.create("sparse", "0 " + size / 512 + " linear " + file + " 0");
        long dataBytes = 448 * K;
        byte[] source = Files.readAllBytes(file);
        Path byNbdcopy = fx.dir.resolve("nbdcopy-out.img");
        Peers.ok(60, Peers.require("nbdcopy"), fx.uri("sparse"), byNbdcopy.toString());
        Path byQemuImg = fx.dir.resolve("qemu-img-out.img");
        Peers.ok(60, Peers.require("qemu-img"), "convert", "-f", "raw", "-O", "raw", fx.uri("sparse"), byQemuImg.toString());
        for (Path copy : List.of(byNbdcopy, byQemuImg)) {
            assertArrayEquals(source, Files.readAllBytes(copy), copy + " holds the export's bytes");
            long allocated = allocatedBytes(copy);
            assertTrue(allocated <= dataBytes + 256 * K, copy + ": " + allocated + " bytes allocated for " + dataBytes + " bytes of data in "
                    + size);
        }
    }
}
