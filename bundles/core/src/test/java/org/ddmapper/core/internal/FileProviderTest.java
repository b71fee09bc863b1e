package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class FileProviderTest {
    @TempDir Path dir;
    final FileProvider files = new FileProvider(2);

    @AfterEach
    void stop() { files.close(); }


    static IoStatus await(java.util.function.Consumer<java.util.function.Consumer<IoStatus>> start) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        start.accept(f::complete);
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void readsWritesZeroesFlushAndBounds() throws Exception {
        Path p = dir.resolve("f.img");
        Files.write(p, new byte[64 * 512]);
        try (BlockDevice dev = files.open(p.toString(), false)) {
            assertEquals(64, dev.sizeSectors());
            assertEquals(p.toString(), dev.reference());
            byte[] data = new byte[1024];
            java.util.Arrays.fill(data, (byte) 3);
            assertTrue(await(c -> dev.submit(Bio.write(10, ByteBuffer.wrap(data), Bio.FUA, c))).isOk());
            ByteBuffer back = ByteBuffer.allocate(1024);
            assertTrue(await(c -> dev.submit(Bio.read(10, back, c))).isOk());
            assertArrayEquals(data, back.array());
            assertTrue(await(c -> dev.submit(Bio.writeZeroes(10, 1, 0, c))).isOk());
            assertEquals(0, Files.readAllBytes(p)[10 * 512]);
            assertEquals(3, Files.readAllBytes(p)[11 * 512]);
            assertTrue(await(c -> dev.submit(Bio.flush(c))).isOk());
            assertTrue(await(c -> dev.submit(Bio.discard(0, 64, c))).isOk());
            assertEquals(Errno.EINVAL, await(c -> dev.submit(Bio.read(63, ByteBuffer.allocate(1024), c))).errno());
            assertEquals(Errno.ENOSPC, await(c -> dev.submit(Bio.write(64, ByteBuffer.allocate(512), 0, c))).errno());
        }
    }

    @Test
    void directOpensWithODirectAndTakesWholeBlocksFromAnyBuffer() throws Exception {
        Path p = dir.resolve("d.img");
        byte[] initial = new byte[64 * 512];
        new java.util.Random(5).nextBytes(initial);
        Files.write(p, initial);
        int block = (int) Math.max(512, Files.getFileStore(p).getBlockSize());
        int sectors = block / 512;
        BlockDevice opened;
        try {
            opened = files.open("direct:" + p, false);
        } catch (DmException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no O_DIRECT here: " + e.getMessage());
            return;
        }
        try (BlockDevice dev = opened) {
            assertEquals("direct:" + p, dev.reference());
            assertEquals(block, dev.logicalBlockBytes());
            assertTrue(((FileDevice) dev).isDirect());
            byte[] data = new byte[2 * block];
            java.util.Arrays.fill(data, (byte) 7);
            // a heap buffer and a direct one at an unaligned position both go through the bounce buffer
            assertTrue(await(c -> dev.submit(Bio.write(sectors, ByteBuffer.wrap(data), Bio.FUA, c))).isOk());
            ByteBuffer odd = ByteBuffer.allocateDirect(2 * block + 3).position(3);
            assertTrue(await(c -> dev.submit(Bio.read(sectors, odd, c))).isOk());
            byte[] back = new byte[2 * block];
            odd.position(3).get(back);
            assertArrayEquals(data, back);
            ByteBuffer aligned = ByteBuffer.allocateDirect(3 * block).alignedSlice(block).limit(block);
            assertTrue(await(c -> dev.submit(Bio.read(0, aligned, c))).isOk());
            byte[] first = new byte[block];
            aligned.get(first);
            assertArrayEquals(java.util.Arrays.copyOf(initial, block), first, "an aligned direct buffer is read into as it is");
            assertTrue(await(c -> dev.submit(Bio.writeZeroes(sectors, sectors, 0, c))).isOk());
            assertTrue(await(c -> dev.submit(Bio.flush(c))).isOk());
            byte[] disk = Files.readAllBytes(p);
            assertEquals(0, disk[block]);
            assertEquals(7, disk[2 * block]);
            if (block > 512) {
                IoStatus unaligned = await(c -> dev.submit(Bio.read(1, ByteBuffer.allocate(block), c)));
                assertEquals(IoStatus.error(Errno.EINVAL, "'direct:" + p + "': request 1+" + sectors + " is not made of whole " + block
                        + "-byte blocks (O_DIRECT)"), unaligned);
            }
        }
        DmException relative = assertThrows(DmException.class, () -> files.open("direct:x.img", false));
        assertEquals("'direct:x.img': not an absolute path", relative.getMessage());
    }

    @Test
    void readOnlyRefusesWrites() throws Exception {
        Path p = dir.resolve("ro.img");
        Files.write(p, new byte[8 * 512]);
        try (BlockDevice dev = files.open(p.toString(), true)) {
            assertEquals(Errno.EROFS, await(c -> dev.submit(Bio.write(0, ByteBuffer.allocate(512), 0, c))).errno());
        }
    }

    @Test
    void closedDeviceFailsWithEnodev() throws Exception {
        Path p = dir.resolve("c.img");
        Files.write(p, new byte[8 * 512]);
        BlockDevice dev = files.open(p.toString(), false);
        dev.close();
        IoStatus s = await(c -> dev.submit(Bio.read(0, ByteBuffer.allocate(512), c)));
        assertEquals(Errno.ENODEV, s.errno());
    }

    @Test
    void refusesWhatIsNotAFileOrBlockDevice() {
        DmException missing = assertThrows(DmException.class, () -> files.open(dir.resolve("nope").toString(), false));
        assertEquals(Errno.ENODEV, missing.errno());
        assertEquals("'" + dir.resolve("nope") + "': no such file or block device", missing.getMessage());
        DmException directory = assertThrows(DmException.class, () -> files.open(dir.toString(), false));
        assertEquals("'" + dir + "': not a regular file or block device", directory.getMessage());
        if (Files.exists(Path.of("/dev/null"))) {
            DmException chr = assertThrows(DmException.class, () -> files.open("/dev/null", false));
            assertEquals(Errno.EINVAL, chr.errno());
        }
    }
}
