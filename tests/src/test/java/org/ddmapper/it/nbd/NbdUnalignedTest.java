package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Requests of any byte alignment from clients that did not ask for block size constraints
 * (NBD_OPT_EXPORT_NAME, or NBD_OPT_GO without NBD_INFO_BLOCK_SIZE), served by read-modify-write on
 * whole device blocks; and EINVAL for the same requests from a client that did ask. Every test
 * keeps a model of the device's bytes and compares the backing file with it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NbdUnalignedTest {
    static final int DEVICE_BYTES = 1 << 20;
    NbdFixture fx;

    @BeforeAll
    void start() throws Exception {
        fx = new NbdFixture();
    }

    @AfterAll
    void stop() {
        if (fx != null) fx.close();
    }


    /** A linear device over a file of random bytes; returns the file, whose bytes are the model's start. */
    private Path randomDevice(String name, long seed) throws Exception {
        Path file = fx.linearDevice(name, DEVICE_BYTES);
        Files.write(file, NbdFixture.random(DEVICE_BYTES, seed));
        return file;
    }

    /** Writes {@code data} at {@code offset} through {@code c} and into the model; asserts success. */
    private static void write(RawNbd c, byte[] model, long offset, byte[] data, int flags) throws Exception {
        assertEquals(0, c.call(RawNbd.CMD_WRITE, flags, offset, data.length, data), "WRITE at " + offset + " length " + data.length);
        System.arraycopy(data, 0, model, (int) offset, data.length);
    }

    @Test
    void byteGranularWritesAndReadsLandExactlyForClientsThatDidNotAskForBlockSizes() throws Exception {
        for (boolean exportName : new boolean[] {true, false}) {
            String name = exportName ? "bytes-export-name" : "bytes-go";
            Path file = randomDevice(name, 1);
            byte[] model = Files.readAllBytes(file);
            try (RawNbd c = exportName ? new RawNbd(fx.address, name) : RawNbd.go(fx.address, name, false)) {
                assertEquals(exportName ? 0 : 1, c.minBlock, "GO without a block size request is told minimum 1");
                write(c, model, 7, new byte[] {(byte) 0xa5}, 0);
                write(c, model, 510, new byte[] {1, 2, 3}, 0);                // across a sector boundary
                write(c, model, 513, NbdFixture.random(700, 2), RawNbd.FLAG_FUA);         // inside two sectors, durable
                write(c, model, DEVICE_BYTES - 3, new byte[] {9, 8, 7}, 0);   // the export's last bytes
                assertArrayEquals(new byte[] {(byte) 0xa5}, c.read(7, 1));
                assertArrayEquals(new byte[] {1, 2, 3}, c.read(510, 3));
                assertArrayEquals(Arrays.copyOfRange(model, 513, 1213), c.read(513, 700));
                assertArrayEquals(Arrays.copyOfRange(model, 5, 1300), c.read(5, 1295), "a read across all of them");
                assertArrayEquals(Arrays.copyOfRange(model, DEVICE_BYTES - 5, DEVICE_BYTES), c.read(DEVICE_BYTES - 5, 5));
                assertEquals(0, c.call(RawNbd.CMD_CACHE, 0, 3, 1000, null), "an unaligned CACHE");
                assertEquals(0, c.call(RawNbd.CMD_FLUSH, 0, 0, 0, null));
            }
            assertArrayEquals(model, Files.readAllBytes(file), name + ": the backing file holds exactly the bytes written");
        }
    }

    @Test
    void unalignedWriteZeroesAndTrimChangeOnlyTheirBytes() throws Exception {
        Path file = randomDevice("zero-trim", 3);
        byte[] model = Files.readAllBytes(file);
        try (RawNbd c = RawNbd.go(fx.address, "zero-trim", false)) {
            assertEquals(0, c.call(RawNbd.CMD_WRITE_ZEROES, RawNbd.FLAG_NO_HOLE, 100, 1000, null));
            Arrays.fill(model, 100, 1100, (byte) 0);
            assertEquals(0, c.call(RawNbd.CMD_WRITE_ZEROES, RawNbd.FLAG_FUA, 4093, 5, null));
            Arrays.fill(model, 4093, 4098, (byte) 0);
            // Advisory: only the whole blocks inside, bytes 512..1535, may change: the file device
            // punches a hole there (reads as zeros), or keeps them where the file system cannot.
            assertEquals(0, c.call(RawNbd.CMD_TRIM, 0, 3, 2000, null));
            assertEquals(0, c.call(RawNbd.CMD_TRIM, 0, 10, 20, null), "a TRIM with no whole block inside");
            byte[] read = c.read(0, 8192);
            if (Arrays.equals(new byte[1024], Arrays.copyOfRange(read, 512, 1536))) Arrays.fill(model, 512, 1536, (byte) 0);
            assertArrayEquals(Arrays.copyOfRange(model, 0, 8192), read);
        }
        assertArrayEquals(model, Files.readAllBytes(file));
    }

    @Test
    void concurrentUnalignedWritesFromTwoConnectionsToTheSameSectorsAllLand() throws Exception {
        Path file = randomDevice("race", 4);
        byte[] model = Files.readAllBytes(file);
        Random random = new Random(5);
        ExecutorService senders = Executors.newFixedThreadPool(2);
        try (RawNbd a = RawNbd.go(fx.address, "race", false); RawNbd b = new RawNbd(fx.address, "race")) {
            for (int round = 0; round < 4; round++) {
                // Split 16 sectors into runs of 1..40 bytes, each written by one of the two connections.
                List<List<long[]>> writes = List.of(new ArrayList<>(), new ArrayList<>());
                for (int at = 0; at < 8192; ) {
                    int length = Math.min(1 + random.nextInt(40), 8192 - at);
                    writes.get(random.nextInt(2)).add(new long[] {at, length, random.nextLong()});
                    at += length;
                }
                writes.forEach(list -> Collections.shuffle(list, random));
                CompletableFuture<Void> fromA = CompletableFuture.runAsync(() -> pipeline(a, writes.get(0)), senders);
                CompletableFuture<Void> fromB = CompletableFuture.runAsync(() -> pipeline(b, writes.get(1)), senders);
                fromA.get(60, TimeUnit.SECONDS);
                fromB.get(60, TimeUnit.SECONDS);
                for (List<long[]> list : writes) {
                    for (long[] w : list) System.arraycopy(NbdFixture.random((int) w[1], w[2]), 0, model, (int) w[0], (int) w[1]);
                }
                assertArrayEquals(Arrays.copyOfRange(model, 0, 8192), b.read(0, 8192), "round " + round + ": read back");
            }
        } finally {
            senders.shutdownNow();
        }
        assertArrayEquals(model, Files.readAllBytes(file), "every byte of every write landed");
    }

    @Test
    void wholeSectorWritesRacingReadModifyWritesOfTheirSectorsAreNeverLost() throws Exception {
        Path file = randomDevice("race-whole", 11);
        int sectors = 64;
        ExecutorService senders = Executors.newFixedThreadPool(2);
        try (RawNbd whole = RawNbd.go(fx.address, "race-whole", true); RawNbd bytes = RawNbd.go(fx.address, "race-whole", false)) {
            for (int round = 0; round < 4; round++) {
                List<long[]> sectorWrites = new ArrayList<>(), byteWrites = new ArrayList<>();
                for (int s = 0; s < sectors; s++) {
                    sectorWrites.add(new long[] {s * 512L, 512, round * 1000L + s});
                    byteWrites.add(new long[] {s * 512L + 100, 3, round * 1000L + s + 500});
                }
                CompletableFuture<Void> a = CompletableFuture.runAsync(() -> pipeline(whole, sectorWrites), senders);
                CompletableFuture<Void> b = CompletableFuture.runAsync(() -> pipeline(bytes, byteWrites), senders);
                a.get(60, TimeUnit.SECONDS);
                b.get(60, TimeUnit.SECONDS);
                byte[] disk = Files.readAllBytes(file);
                for (int s = 0; s < sectors; s++) {
                    // Either order is right: the sector's write alone (it came last) or with the 3 bytes on it.
                    byte[] sectorOnly = NbdFixture.random(512, round * 1000L + s);
                    byte[] both = sectorOnly.clone();
                    System.arraycopy(NbdFixture.random(3, round * 1000L + s + 500), 0, both, 100, 3);
                    byte[] got = Arrays.copyOfRange(disk, s * 512, s * 512 + 512);
                    if (!Arrays.equals(got, sectorOnly)) assertArrayEquals(both, got, "round " + round + ", sector " + s);
                }
            }
        } finally {
            senders.shutdownNow();
        }
    }

    /** Sends all writes ({offset, length, seed}) back to back, then takes every reply. */
    private static void pipeline(RawNbd c, List<long[]> writes) {
        try {
            for (int i = 0; i < writes.size(); i++) {
                long[] w = writes.get(i);
                c.send(RawNbd.CMD_WRITE, i, w[0], (int) w[1], NbdFixture.random((int) w[1], w[2]));
            }
            for (int i = 0; i < writes.size(); i++) {
                assertEquals(0x67446698, c.in.readInt(), "simple reply magic");
                assertEquals(0, c.in.readInt(), "write error");
                c.in.readLong();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void directBackingServesSectorAlignedRequestsOnWholeFileSystemBlocks() throws Exception {
        Path file = fx.dir.resolve("direct.img");
        Files.write(file, NbdFixture.random(DEVICE_BYTES, 6));
        int block = (int) Math.max(512, Files.getFileStore(file).getBlockSize());
        fx.dm.create("direct", "0 " + DEVICE_BYTES / 512 + " linear direct:" + file + " 0");
        byte[] model = Files.readAllBytes(file);
        try (RawNbd c = RawNbd.go(fx.address, "direct", false)) {
            assertEquals(1, c.minBlock);
            write(c, model, 512, NbdFixture.random(512, 7), 0);
            write(c, model, block - 512, NbdFixture.random(1024, 8), RawNbd.FLAG_FUA);  // across a block boundary
            write(c, model, block + 1, new byte[] {42}, 0);
            assertEquals(0, c.call(RawNbd.CMD_WRITE_ZEROES, 0, 2 * block + 512, 512, null));
            Arrays.fill(model, 2 * block + 512, 2 * block + 1024, (byte) 0);
            assertArrayEquals(Arrays.copyOfRange(model, 512, 3 * block), c.read(512, 3 * block - 512));
        }
        try (RawNbd asked = RawNbd.go(fx.address, "direct", true)) {
            assertEquals(block, asked.minBlock, "a client that asks is told the O_DIRECT block");
            if (block > 512) {
                assertEquals(RawNbd.EINVAL, asked.call(RawNbd.CMD_WRITE, 0, 512, 512, new byte[512]), "and held to it");
            }
        }
        assertArrayEquals(model, Files.readAllBytes(file));
    }

    @Test
    void aClientThatAskedForBlockSizesGetsEinvalForMisalignedRequests() throws Exception {
        Path file = randomDevice("asked", 9);
        byte[] before = Files.readAllBytes(file);
        try (RawNbd c = RawNbd.go(fx.address, "asked", true)) {
            assertEquals(512, c.minBlock);
            assertEquals(RawNbd.EINVAL, c.call(RawNbd.CMD_WRITE, 0, 510, 3, new byte[] {1, 2, 3}));
            assertEquals(RawNbd.EINVAL, c.call(RawNbd.CMD_READ, 0, 1, 512, null));
            assertEquals(RawNbd.EINVAL, c.call(RawNbd.CMD_WRITE_ZEROES, 0, 100, 1000, null));
            assertEquals(RawNbd.EINVAL, c.call(RawNbd.CMD_TRIM, 0, 3, 2000, null));
            assertArrayEquals(Arrays.copyOfRange(before, 0, 1024), c.read(0, 1024), "the connection goes on");
        }
        assertArrayEquals(before, Files.readAllBytes(file), "nothing changed");
    }

    @Test
    void qemuIoByteOffsetsLandExactly() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        Path file = randomDevice("qio-bytes", 10);
        byte[] model = Files.readAllBytes(file);
        // qemu asks for block sizes, so it is told 512 and pads these to whole sectors itself.
        String out = Peers.ok(60, qemuIo, "-f", "raw", fx.uri("qio-bytes"),
                "-c", "write -P 0xab 1 3",
                "-c", "write -P 0xcd 1022 5",
                "-c", "read -P 0xab 1 3",
                "-c", "read -P 0xcd 1022 5",
                "-c", "flush");
        assertFalse(out.contains("fail") || out.contains("Pattern verification"), out);
        Arrays.fill(model, 1, 4, (byte) 0xab);
        Arrays.fill(model, 1022, 1027, (byte) 0xcd);
        assertArrayEquals(model, Files.readAllBytes(file));
    }
}
