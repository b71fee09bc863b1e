package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Io;

/**
 * Data through linear and striped targets over real files, against an in-memory model: random
 * reads, writes and write-zeroes (sizes and offsets crossing target and chunk boundaries, several
 * in flight at once), then every block compared, through the device and on the files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class DataCorrectnessTest {
    @TempDir static Path dir;
    TargetsFixture fx;

    @BeforeAll
    void start() { fx = new TargetsFixture(); }

    @AfterAll
    void stop() { if (fx != null) fx.close(); }

    /** Where a sector of the device lives: a file and a sector in it. */
    record Place(Path file, long sector) {}

    /** One line of the table and, independently of the targets' code, where its sectors go. */
    interface Segment {
        long start();
        long length();
        String line();
        Place place(long sector);
    }

    record Linear(long start, long length, Path file, long offset) implements Segment {
        public String line() { return start + " " + length + " linear " + file + " " + offset; }
        public Place place(long sector) { return new Place(file, offset + sector - start); }
    }

    record Striped(long start, long length, long chunk, List<Path> files, List<Long> offsets) implements Segment {
        public String line() {
            StringBuilder sb = new StringBuilder(start + " " + length + " striped " + files.size() + " " + chunk);
            for (int i = 0; i < files.size(); i++) sb.append(' ').append(files.get(i)).append(' ').append(offsets.get(i));
            return sb.toString();
        }

        public Place place(long sector) {
            long rel = sector - start;
            long chunkIndex = rel / chunk;
            int stripe = (int) (chunkIndex % files.size());
            long onStripe = (chunkIndex / files.size()) * chunk + rel % chunk;
            return new Place(files.get(stripe), offsets.get(stripe) + onStripe);
        }
    }

    @Test
    void randomIoThroughLinearAndStripedMatchesTheModelBlockForBlock() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path a = randomFile("a.img", 8192, random), b = randomFile("b.img", 4096, random);
        Path c = randomFile("c.img", 4096, random), d = randomFile("d.img", 4096, random);
        List<Segment> table = List.of(
                new Linear(0, 1000, a, 37),
                new Striped(1000, 3072, 16, List.of(b, c, d), List.of(0L, 64L, 8L)),
                new Striped(4072, 2048, 8, List.of(a, b), List.of(2048L, 1100L)),
                // a chunk that is no power of two (division in the stripe arithmetic), c used twice
                new Striped(6120, 1080, 12, List.of(c, d, c), List.of(1100L, 2600L, 2000L)),
                new Linear(7200, 500, d, 2000));
        long size = 7700;
        byte[] model = new byte[(int) size * 512];
        for (long s = 0; s < size; s++) System.arraycopy(sectorOnDisk(locate(table, s)), 0, model, (int) s * 512, 512);
        List<Long> boundaries = boundaries(table);

        fx.dm.create("model", String.join("\n", table.stream().map(Segment::line).toList()));
        try (DeviceManager.OpenDevice dev = fx.dm.open(DeviceRef.of("model"))) {
            for (int batch = 0; batch < 150; batch++) {
                List<long[]> ranges = disjointRanges(random, size, boundaries, 1 + random.nextInt(6));
                List<CompletableFuture<IoStatus>> inFlight = new ArrayList<>();
                List<Runnable> checks = new ArrayList<>();
                for (long[] r : ranges) {
                    long sector = r[0];
                    int sectors = (int) r[1];
                    int from = (int) sector * 512, to = from + sectors * 512;
                    int kind = random.nextInt(10);
                    String what = "seed " + seed + " batch " + batch + " at " + sector + "+" + sectors;
                    if (kind < 5) {
                        byte[] data = new byte[sectors * 512];
                        random.nextBytes(data);
                        int flags = random.nextInt(4) == 0 ? Bio.FUA : 0;
                        inFlight.add(Io.writeAsync(dev, sector, data, flags));
                        System.arraycopy(data, 0, model, from, data.length);
                    } else if (kind < 9) {
                        ByteBuffer into = ByteBuffer.allocate(sectors * 512);
                        byte[] expected = Arrays.copyOfRange(model, from, to);
                        inFlight.add(Io.readAsync(dev, sector, into));
                        checks.add(() -> assertArrayEquals(expected, into.array(), "read " + what));
                    } else {
                        inFlight.add(Io.submit(dev, done -> Bio.writeZeroes(sector, sectors, 0, done)));
                        Arrays.fill(model, from, to, (byte) 0);
                    }
                }
                for (int i = 0; i < inFlight.size(); i++)
                    assertEquals(IoStatus.OK, Io.get(inFlight.get(i)), "seed " + seed + " batch " + batch + " request " + i);
                checks.forEach(Runnable::run);
                if (batch % 10 == 9) assertEquals(IoStatus.OK, Io.flush(dev));
            }
            assertEquals(IoStatus.OK, Io.flush(dev));

            ByteBuffer all = ByteBuffer.allocate(model.length);
            assertEquals(IoStatus.OK, Io.read(dev, 0, all));
            for (long s = 0; s < size; s++)
                assertArrayEquals(Arrays.copyOfRange(model, (int) s * 512, (int) (s + 1) * 512),
                        Arrays.copyOfRange(all.array(), (int) s * 512, (int) (s + 1) * 512), "seed " + seed + ": sector " + s + " read back");
        }
        fx.dm.remove(DeviceRef.of("model"), false);
        for (long s = 0; s < size; s++)
            assertArrayEquals(Arrays.copyOfRange(model, (int) s * 512, (int) (s + 1) * 512), sectorOnDisk(locate(table, s)),
                    "seed " + seed + ": sector " + s + " on disk at " + locate(table, s));
    }

    @Test
    void directBackingFilesBypassThePageCacheAndTakeWholeBlocks() throws Exception {
        Random random = new Random(9);
        Path a = randomFile("direct-a.img", 2048, random), b = randomFile("direct-b.img", 2048, random);
        int block = (int) Math.max(512, Files.getFileStore(a).getBlockSize());
        int sectors = block / 512;
        String table = "0 1024 linear direct:" + a + " 0\n1024 2048 striped 2 " + 2 * sectors + " direct:" + b + " 0 " + a + " 1024";
        fx.dm.create("direct", table);
        try (DeviceManager.OpenDevice dev = fx.dm.open(DeviceRef.of("direct"))) {
            assertEquals(block, dev.logicalBlockBytes(), "the device announces the O_DIRECT block");
            byte[] data = new byte[3 * block];
            random.nextBytes(data);
            long at = 1024 - sectors;   // across the linear/striped boundary and a chunk boundary
            assertEquals(IoStatus.OK, Io.write(dev, at, data, Bio.FUA));
            ByteBuffer back = ByteBuffer.allocate(data.length);
            assertEquals(IoStatus.OK, Io.read(dev, at, back));
            assertArrayEquals(data, back.array());
            assertArrayEquals(Arrays.copyOf(data, 512), sectorOnDisk(new Place(a, at)), "the linear part is on disk");
            assertArrayEquals(Arrays.copyOfRange(data, block, block + 512), sectorOnDisk(new Place(b, 0)), "the first chunk of stripe 0");
            if (block > 512) assertEquals(org.ddmapper.api.Errno.EINVAL, Io.read(dev, 1, ByteBuffer.allocate(512)).errno(),
                    "less than a block is refused, as the kernel refuses I/O below the logical block");
        }
        assertEquals(table.replace("\n", "|"), String.join("|", fx.dm.table(DeviceRef.of("direct"), false).stream()
                .map(org.ddmapper.api.TargetStatus::toString).toList()), "the references print as written");
        fx.dm.remove(DeviceRef.of("direct"), false);
    }

    private Path randomFile(String name, int sectors, Random random) throws IOException {
        byte[] bytes = new byte[sectors * 512];
        random.nextBytes(bytes);
        return Files.write(dir.resolve(name), bytes);
    }

    private static Place locate(List<Segment> table, long sector) {
        for (Segment s : table) if (sector >= s.start() && sector < s.start() + s.length()) return s.place(sector);
        throw new IllegalArgumentException("sector " + sector + " is outside the table");
    }

    private static byte[] sectorOnDisk(Place place) throws IOException {
        try (FileChannel ch = FileChannel.open(place.file(), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(512);
            while (b.hasRemaining()) if (ch.read(b, place.sector() * 512 + b.position()) < 0) break;
            return b.array();
        }
    }

    /** Target starts and every chunk boundary: the places a request is most likely to be split wrongly. */
    private static List<Long> boundaries(List<Segment> table) {
        List<Long> out = new ArrayList<>();
        for (Segment s : table) {
            out.add(s.start());
            if (s instanceof Striped st) for (long at = s.start(); at < s.start() + s.length(); at += st.chunk()) out.add(at);
        }
        return out;
    }

    /** Up to {@code count} disjoint ranges {sector, sectors}; most start near a boundary, sizes 1..300 sectors. */
    private static List<long[]> disjointRanges(Random random, long size, List<Long> boundaries, int count) {
        List<long[]> out = new ArrayList<>();
        for (int tries = 0; out.size() < count && tries < count * 10; tries++) {
            long start = random.nextBoolean()
                    ? Math.max(0, boundaries.get(random.nextInt(boundaries.size())) - random.nextInt(24))
                    : random.nextInt((int) size);
            int sectors = random.nextInt(4) == 0 ? 1 + random.nextInt(300) : 1 + random.nextInt(40);
            sectors = (int) Math.min(sectors, size - start);
            long end = start + sectors;
            boolean overlaps = out.stream().anyMatch(r -> start < r[0] + r[1] && r[0] < end);
            if (sectors > 0 && !overlaps) out.add(new long[] {start, sectors});
        }
        return out;
    }
}
