package org.ddmapper.core.internal;

import static org.ddmapper.core.internal.FileProviderTest.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.Extent.Kind;
import org.ddmapper.api.ExtentList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A file device's allocation map (lseek SEEK_DATA/SEEK_HOLE) and the holes DISCARD and WRITE_ZEROES punch. */
@Timeout(30)
class FileHolesTest {
    static final int BLOCK = 4096;
    static final int SPB = BLOCK / 512; // sectors per block
    @TempDir Path dir;
    final FileProvider files = new FileProvider(2);

    @AfterEach
    void stop() { files.close(); }

    /** A sparse file of {@code blocks} 4 KiB blocks with data (0x5a) in the blocks listed. */
    private Path sparse(String name, int blocks, int... dataBlocks) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength((long) blocks * BLOCK);
            byte[] data = new byte[BLOCK];
            Arrays.fill(data, (byte) 0x5a);
            for (int b : dataBlocks) {
                f.seek((long) b * BLOCK);
                f.write(data);
            }
        }
        return p;
    }

    private static Extent run(long startBlock, long blocks, Kind kind) {
        return new Extent(startBlock * SPB, blocks * SPB, kind);
    }

    @Test
    void mapsDataAndHolesOfASparseFileExactly() throws Exception {
        Path p = sparse("s.img", 256, 16, 128, 129, 255);
        try (BlockDevice dev = files.open(p.toString(), false)) {
            assertEquals(List.of(run(0, 16, Kind.HOLE), run(16, 1, Kind.DATA), run(17, 111, Kind.HOLE),
                    run(128, 2, Kind.DATA), run(130, 125, Kind.HOLE), run(255, 1, Kind.DATA)),
                    dev.allocation(0, 256 * SPB));
            // a range inside: the runs are clipped to it, in sectors (not blocks)
            assertEquals(List.of(new Extent(100, 28, Kind.HOLE), new Extent(128, 8, Kind.DATA), new Extent(136, 3, Kind.HOLE)),
                    dev.allocation(100, 39));
            assertEquals(List.of(new Extent(16 * SPB + 3, 2, Kind.DATA)), dev.allocation(16 * SPB + 3, 2));
        }
        try (BlockDevice ro = files.open(p.toString(), true)) {
            assertEquals(List.of(run(128, 2, Kind.DATA), run(130, 2, Kind.HOLE)), ro.allocation(128 * SPB, 4 * SPB), "read-only too");
        }
    }

    @Test
    void aFileWithManyHolesIsAnsweredInBoundedPiecesThatJoinUp() throws Exception {
        int blocks = 2 * ExtentList.MAX_RUNS + 40;
        int[] even = new int[blocks / 2];
        for (int i = 0; i < even.length; i++) even[i] = 2 * i;
        Path p = sparse("many.img", blocks, even);
        try (BlockDevice dev = files.open(p.toString(), false)) {
            List<Extent> first = dev.allocation(0, (long) blocks * SPB);
            assertEquals(ExtentList.MAX_RUNS, first.size(), "one answer stops at the run limit");
            List<Extent> all = new ArrayList<>(first);
            for (long at = first.get(first.size() - 1).endSector(); at < (long) blocks * SPB; at = all.get(all.size() - 1).endSector())
                all.addAll(dev.allocation(at, (long) blocks * SPB - at));
            assertEquals(blocks, all.size());
            for (int b = 0; b < blocks; b++) assertEquals(run(b, 1, b % 2 == 0 ? Kind.DATA : Kind.HOLE), all.get(b), "block " + b);
        }
    }

    @Test
    void discardAndWriteZeroesPunchHolesThatReadAsZeros() throws Exception {
        int blocks = 64;
        int[] everyBlock = new int[blocks];
        for (int i = 0; i < blocks; i++) everyBlock[i] = i;
        Path p = sparse("punch.img", blocks, everyBlock);
        try (BlockDevice dev = files.open(p.toString(), false)) {
            assertTrue(dev.supports(BioOp.DISCARD) && dev.supports(BioOp.WRITE_ZEROES), "ext4/xfs/tmpfs punch holes");
            assertEquals(List.of(run(0, blocks, Kind.DATA)), dev.allocation(0, blocks * SPB));
            assertTrue(await(c -> dev.submit(Bio.discard(8 * SPB, 8 * SPB, c))).isOk());
            assertTrue(await(c -> dev.submit(Bio.writeZeroes(32 * SPB, 4 * SPB, 0, c))).isOk());
            assertTrue(await(c -> dev.submit(Bio.writeZeroes(48 * SPB, 4 * SPB, Bio.NO_HOLE | Bio.FUA, c))).isOk());
            assertEquals(List.of(run(0, 8, Kind.DATA), run(8, 8, Kind.HOLE), run(16, 16, Kind.DATA), run(32, 4, Kind.HOLE),
                    run(36, 28, Kind.DATA)), dev.allocation(0, blocks * SPB), "NO_HOLE keeps its range allocated");
            ByteBuffer back = ByteBuffer.allocate(blocks * BLOCK);
            assertTrue(await(c -> dev.submit(Bio.read(0, back, c))).isOk());
            for (int b = 0; b < blocks; b++) {
                boolean zero = (b >= 8 && b < 16) || (b >= 32 && b < 36) || (b >= 48 && b < 52);
                byte[] want = new byte[BLOCK];
                Arrays.fill(want, zero ? 0 : (byte) 0x5a);
                assertArrayEquals(want, Arrays.copyOfRange(back.array(), b * BLOCK, (b + 1) * BLOCK), "block " + b);
            }
            assertEquals((long) blocks * BLOCK, p.toFile().length(), "punching keeps the size");
        }
    }

    @Test
    void refusesRangesOutsideTheFileAndAnswersNothingOnceClosed() throws Exception {
        Path p = sparse("r.img", 4);
        BlockDevice dev = files.open(p.toString(), false);
        assertEquals(List.of(run(0, 4, Kind.HOLE)), dev.allocation(0, 4 * SPB));
        assertEquals(Errno.EINVAL, assertThrows(DmException.class, () -> dev.allocation(4 * SPB - 1, 2)).errno());
        assertEquals(Errno.EINVAL, assertThrows(DmException.class, () -> dev.allocation(0, 0)).errno());
        dev.close();
        assertEquals(Errno.ENODEV, assertThrows(DmException.class, () -> dev.allocation(0, 1)).errno());
    }
}
