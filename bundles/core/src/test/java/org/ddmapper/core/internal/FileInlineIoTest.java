package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small reads of a regular file that the page cache holds, and small buffered writes without FUA,
 * run on the caller's thread; larger requests, FUA, heap buffers (reads) and O_DIRECT files go to
 * the I/O threads. The thread a completion runs on is what a caller sees of it, so that is what
 * these tests check, with the bytes.
 */
@Timeout(30)
class FileInlineIoTest {
    @TempDir Path dir;
    final FileProvider files = new FileProvider(2);

    @AfterEach
    void stop() { files.close(); }

    /** A 1 MiB file of random bytes, read once through Java so the page cache holds it. */
    private byte[] cachedFile(Path p) throws Exception {
        byte[] content = new byte[1 << 20];
        new Random(7).nextBytes(content);
        Files.write(p, content);
        assertArrayEquals(content, Files.readAllBytes(p));
        return content;
    }

    /** Submits a bio on this thread; returns its status ("ok" or errno: message) and the name of the thread it completed on. */
    private static String[] submit(BlockDevice dev, Function<Consumer<IoStatus>, Bio> bio) throws Exception {
        CompletableFuture<String[]> done = new CompletableFuture<>();
        dev.submit(bio.apply(status -> done.complete(new String[] {
                status.isOk() ? "ok" : status.errno() + ": " + status.message(), Thread.currentThread().getName()})));
        return done.get(10, TimeUnit.SECONDS);
    }

    private static String[] read(BlockDevice dev, long sector, ByteBuffer into) throws Exception {
        return submit(dev, c -> Bio.read(sector, into, c));
    }

    @Test
    void aCachedSmallReadCompletesOnTheCallersThreadWithTheFilesBytes() throws Exception {
        Path p = dir.resolve("cached.img");
        byte[] content = cachedFile(p);
        try (BlockDevice dev = files.open(p.toString(), true)) {
            for (int kib : new int[] {4, 16, 64}) {
                ByteBuffer into = ByteBuffer.allocateDirect(kib * 1024 + 100).position(100);
                String[] r = read(dev, 24, into);
                assertEquals("ok", r[0]);
                assertEquals(Thread.currentThread().getName(), r[1], kib + " KiB cached read ran on " + r[1]);
                byte[] got = new byte[kib * 1024];
                into.get(100, got);
                assertArrayEquals(Arrays.copyOfRange(content, 24 * 512, 24 * 512 + kib * 1024), got);
            }
        }
    }

    private static String[] write(BlockDevice dev, long sector, ByteBuffer from, int flags) throws Exception {
        return submit(dev, c -> Bio.write(sector, from, flags, c));
    }

    @Test
    void smallWritesRunOnTheCallersThreadFuaAndLargeOnesOnTheIoThreadsAndAllLand() throws Exception {
        Path p = dir.resolve("write.img");
        byte[] content = cachedFile(p);
        byte[] small = new byte[8192];
        new Random(11).nextBytes(small);
        byte[] large = new byte[FileDevice.INLINE_MAX_BYTES + 4096];
        new Random(12).nextBytes(large);
        try (BlockDevice dev = files.open(p.toString(), false)) {
            String[] r = write(dev, 40, ByteBuffer.allocateDirect(small.length).put(small).flip(), 0);
            assertEquals("ok", r[0]);
            assertEquals(Thread.currentThread().getName(), r[1], "an 8 KiB write ran on " + r[1]);
            r = write(dev, 0, ByteBuffer.wrap(new byte[512]), Bio.FUA);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "a FUA write (it needs fdatasync) ran on " + r[1]);
            r = write(dev, 512, ByteBuffer.wrap(large), 0);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "a write over the inline limit ran on " + r[1]);
        }
        System.arraycopy(small, 0, content, 40 * 512, small.length);
        Arrays.fill(content, 0, 512, (byte) 0);
        System.arraycopy(large, 0, content, 512 * 512, large.length);
        assertArrayEquals(content, Files.readAllBytes(p));
        try (BlockDevice direct = files.open("direct:" + p, false)) {
            int block = direct.logicalBlockBytes();
            ByteBuffer from = ByteBuffer.allocateDirect(block + 4096).alignedSlice(4096).limit(block);
            String[] r = write(direct, 0, from, 0);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "an O_DIRECT write ran on " + r[1]);
        }
    }

    @Test
    void largeReadsHeapBuffersAndODirectGoToTheIoThreads() throws Exception {
        Path p = dir.resolve("big.img");
        byte[] content = cachedFile(p);
        try (BlockDevice dev = files.open(p.toString(), true)) {
            ByteBuffer large = ByteBuffer.allocateDirect(FileDevice.INLINE_MAX_BYTES + 512);
            String[] r = read(dev, 0, large);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "a read over the inline limit ran on " + r[1]);
            assertArrayEquals(Arrays.copyOf(content, large.capacity()), bytes(large));

            ByteBuffer heap = ByteBuffer.allocate(4096);
            r = read(dev, 8, heap);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "a heap-buffer read ran on " + r[1]);
            assertArrayEquals(Arrays.copyOfRange(content, 4096, 8192), heap.array());
        }
        try (BlockDevice direct = files.open("direct:" + p, true)) {
            int block = direct.logicalBlockBytes();
            ByteBuffer into = ByteBuffer.allocateDirect(block + 4096).alignedSlice(4096).limit(block);
            String[] r = read(direct, 0, into);
            assertEquals("ok", r[0]);
            assertTrue(r[1].startsWith("ddmapper-io-"), "an O_DIRECT read ran on " + r[1]);
            assertArrayEquals(Arrays.copyOf(content, block), bytes(into));
        }
    }

    @Test
    void aReadAfterCloseFailsWithEnodevWithoutTouchingTheBuffer() throws Exception {
        Path p = dir.resolve("closed.img");
        cachedFile(p);
        BlockDevice dev = files.open(p.toString(), true);
        dev.close();
        ByteBuffer into = ByteBuffer.allocateDirect(4096);
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        dev.submit(Bio.read(0, into, done::complete));
        IoStatus status = done.get(10, TimeUnit.SECONDS);
        assertEquals(Errno.ENODEV, status.errno());
        assertEquals(0, into.position());
    }

    /** The buffer's bytes from 0 to its limit (a bio reads into a view of it: the position stays). */
    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.limit()];
        b.get(0, out);
        return out;
    }
}
