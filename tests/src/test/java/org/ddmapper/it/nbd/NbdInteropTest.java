package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.it.support.Peers;

/**
 * Real NBD clients against the export of a linear mapped device in a running framework: qemu-io,
 * qemu-img, nbdinfo, nbdcopy, fio, and several raw connections sharing one flush. Every test
 * checks bytes, not just exit codes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NbdInteropTest {
    static final long DEVICE_BYTES = 64L << 20;
    NbdFixture fx;

    @BeforeAll
    void start() throws Exception {
        fx = new NbdFixture();
    }

    @AfterAll
    void stop() {
        if (fx != null) fx.close();
    }


    private static byte[] slice(Path file, long offset, int length) throws Exception {
        byte[] all = Files.readAllBytes(file);
        return Arrays.copyOfRange(all, (int) offset, (int) offset + length);
    }

    @Test
    void qemuIoWriteReadVerifyPatterns() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        Path backing = fx.linearDevice("qio", DEVICE_BYTES);
        String out = Peers.ok(60, qemuIo, "-f", "raw", fx.uri("qio"),
                "-c", "write -P 0xab 0 1M",
                "-c", "read -P 0xab 0 1M",
                "-c", "aio_write -P 0xcd 4M 64k",
                "-c", "aio_write -P 0xef 8M 64k",
                "-c", "aio_flush",
                "-c", "read -P 0xcd 4M 64k",
                "-c", "read -P 0xef 8M 64k",
                "-c", "write -z 512k 256k",
                "-c", "read -P 0 512k 256k",
                "-c", "discard 16M 1M",
                "-c", "flush");
        assertFalse(out.contains("fail"), out);
        byte[] head = slice(backing, 0, 512 * 1024);
        for (byte b : head) assertEquals((byte) 0xab, b);
        byte[] zeroed = slice(backing, 512 * 1024, 256 * 1024);
        for (byte b : zeroed) assertEquals(0, b);
        byte[] mid = slice(backing, 4 << 20, 64 * 1024);
        for (byte b : mid) assertEquals((byte) 0xcd, b);
        // Over the Unix socket too.
        String unix = Peers.ok(60, qemuIo, "-f", "raw", fx.unixUri("qio"), "-c", "read -P 0xef 8M 64k");
        assertFalse(unix.contains("fail"), unix);
    }

    @Test
    void zeroesAndTrimOverALinearFileDeviceAreAdvertisedTruthfullyAndLeaveTheRightBytes() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        String nbdinfo = Peers.require("nbdinfo");
        Path backing = fx.linearDevice("zt", 8L << 20);
        // trim and zeroes are offered (they always work), fast zero is not: a mapped device cannot promise it
        String json = Peers.ok(30, nbdinfo, "--json", fx.uri("zt"));
        assertTrue(json.contains("\"can_trim\": true"), json);
        assertTrue(json.contains("\"can_zero\": true"), json);
        assertTrue(json.contains("\"can_fast_zero\": false"), json);
        assertTrue(json.contains("\"is_read_only\": false"), json);
        String out = Peers.ok(60, qemuIo, "-f", "raw", fx.uri("zt"),
                "-c", "write -P 0x5c 0 4M",
                "-c", "write -z 1M 64k",       // NO_HOLE: written out as zeros
                "-c", "write -z -u 2M 64k",    // may unmap: still reads back as zeros
                "-c", "discard 3M 64k",        // punches a hole in the file: reads back as zeros
                "-c", "flush");
        assertFalse(out.contains("fail"), out);
        byte[] file = Files.readAllBytes(backing);
        assertEquals(8L << 20, file.length, "the backing file keeps its size");
        for (int mib = 0; mib < 4; mib++) {
            for (int off = mib << 20; off < (mib << 20) + (128 << 10); off++) {
                boolean zeroed = mib > 0 && off < (mib << 20) + (64 << 10);
                assertEquals(zeroed ? 0 : (byte) 0x5c, file[off], "byte " + off);
            }
        }
    }

    @Test
    void qemuImgConvertInAndOutIsByteExact() throws Exception {
        String qemuImg = Peers.require("qemu-img");
        Path backing = fx.linearDevice("conv", DEVICE_BYTES);
        Path src = fx.dir.resolve("conv-src.img");
        byte[] data = NbdFixture.random((int) DEVICE_BYTES, 1);
        Arrays.fill(data, 10 << 20, 20 << 20, (byte) 0); // a zero run: qemu-img may write it as zeroes
        Files.write(src, data);
        Peers.ok(60, qemuImg, "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), fx.uri("conv"));
        assertArrayEquals(data, Files.readAllBytes(backing), "converted in: the device holds the source's bytes");
        Path out = fx.dir.resolve("conv-out.img");
        Peers.ok(60, qemuImg, "convert", "-f", "raw", "-O", "raw", fx.uri("conv"), out.toString());
        assertArrayEquals(data, Files.readAllBytes(out), "converted out: the file holds the device's bytes");
        String compare = Peers.ok(60, qemuImg, "compare", "-f", "raw", "-F", "raw", src.toString(), fx.uri("conv"));
        assertTrue(compare.contains("Images are identical"), compare);
    }

    @Test
    void nbdinfoListsExportsAndDescribesOne() throws Exception {
        String nbdinfo = Peers.require("nbdinfo");
        fx.linearDevice("info-a", 8 << 20);
        fx.linearDevice("info-b", 16 << 20);
        String list = Peers.ok(30, nbdinfo, "--list", "nbd://" + fx.address);
        assertTrue(list.contains("export=\"info-a\"") && list.contains("export=\"info-b\""), list);
        assertTrue(list.contains("ddmapper device info-a"), list);
        String json = Peers.ok(30, nbdinfo, "--json", fx.uri("info-b"));
        assertTrue(json.replace(" ", "").contains("\"export-size\":16777216"), json);
        assertTrue(json.replace(" ", "").contains("\"is_read_only\":false"), json);
        assertTrue(json.replace(" ", "").contains("\"can_flush\":true"), json);
        assertTrue(json.replace(" ", "").contains("\"can_multi_conn\":true"), json);
        assertTrue(json.contains("base:allocation"), json);
        String size = Peers.ok(30, nbdinfo, "--size", fx.unixUri("info-a")).trim();
        assertEquals("8388608", size);
    }

    @Test
    void nbdcopyBothWays() throws Exception {
        String nbdcopy = Peers.require("nbdcopy");
        Path backing = fx.linearDevice("copy", 32 << 20);
        Path src = fx.dir.resolve("copy-src.img");
        byte[] data = NbdFixture.random(32 << 20, 2);
        Files.write(src, data);
        Peers.ok(60, nbdcopy, "--connections=4", src.toString(), fx.uri("copy"));
        assertArrayEquals(data, Files.readAllBytes(backing));
        Path out = fx.dir.resolve("copy-out.img");
        Files.write(out, new byte[32 << 20]);
        Peers.ok(60, nbdcopy, fx.unixUri("copy"), out.toString());
        assertArrayEquals(data, Files.readAllBytes(out));
    }

    @Test
    void fioWithCrc32cVerify() throws Exception {
        String fio = Peers.require("fio");
        fx.linearDevice("fio", DEVICE_BYTES);
        for (String uri : List.of(fx.uri("fio"), fx.unixUri("fio"))) {
            String out = Peers.ok(90, fio, "--name=verify", "--ioengine=nbd", "--uri=" + uri,
                    "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=16M", "--verify=crc32c",
                    "--do_verify=1", "--verify_fatal=1", "--verify_state_save=0", "--output-format=terse");
            assertFalse(out.contains("verify:") && out.contains("bad"), out);
            String big = Peers.ok(90, fio, "--name=seq", "--ioengine=nbd", "--uri=" + uri,
                    "--rw=write", "--bs=1M", "--iodepth=4", "--size=32M", "--offset=16M", "--verify=crc32c",
                    "--do_verify=1", "--verify_fatal=1", "--verify_state_save=0", "--output-format=terse");
            assertFalse(big.contains("bad"), big);
        }
    }

    @Test
    void multiConnectionWritesThenFlushFromAnotherConnection() throws Exception {
        Path backing = fx.linearDevice("multi", 16 << 20);
        int connections = 4;
        int blocks = 64;
        List<RawNbd> conns = new ArrayList<>();
        try {
            for (int i = 0; i < connections; i++) conns.add(new RawNbd(fx.address, "multi"));
            assertTrue((conns.get(0).flags & (1 << 8)) != 0, "CAN_MULTI_CONN advertised");
            for (int c = 0; c < connections; c++) {
                for (int b = 0; b < blocks; b++) {
                    long offset = ((long) b * connections + c) * 4096;
                    conns.get(c).send(RawNbd.CMD_WRITE, b, offset, 4096, NbdFixture.random(4096, offset));
                }
            }
            for (int c = 0; c < connections; c++) {
                for (int b = 0; b < blocks; b++) {
                    RawNbd conn = conns.get(c);
                    assertEquals(0x67446698, conn.in.readInt());
                    assertEquals(0, conn.in.readInt(), "write error");
                    conn.in.readLong();
                }
            }
            try (RawNbd flusher = new RawNbd(fx.address, "multi")) {
                flusher.send(RawNbd.CMD_FLUSH, 99, 0, 0, null);
                assertEquals(0, flusher.reply(99, null), "flush from a fifth connection");
                // Every connection's writes are visible to every other connection.
                for (int c = 0; c < connections; c++) {
                    RawNbd reader = conns.get((c + 1) % connections);
                    for (int b = 0; b < blocks; b += 7) {
                        long offset = ((long) b * connections + c) * 4096;
                        byte[] got = new byte[4096];
                        reader.send(RawNbd.CMD_READ, 1000 + b, offset, 4096, null);
                        assertEquals(0, reader.reply(1000 + b, got));
                        assertArrayEquals(NbdFixture.random(4096, offset), got);
                    }
                }
            }
            byte[] file = Files.readAllBytes(backing);
            for (long offset = 0; offset < (long) blocks * connections * 4096; offset += 4096) {
                assertArrayEquals(NbdFixture.random(4096, offset), Arrays.copyOfRange(file, (int) offset, (int) offset + 4096),
                        "block at " + offset + " in the backing file");
            }
        } finally {
            for (RawNbd c : conns) c.close();
        }
    }
}
