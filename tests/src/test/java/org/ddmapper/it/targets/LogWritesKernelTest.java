package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * log-writes against the real kernel, live: the requests of tests/kernel/log-writes/workload.sh go
 * to a {@code log-writes} device of ours (the core and file devices of an embedded framework) and,
 * in one boot of the kernel oracle (kdm-vm.sh), to the kernel's log-writes over null_blk
 * (guest.sh, lwio built here with gcc -static). The two log devices must be byte-identical, and so
 * must the two data devices. The guest's FUA write is an O_DSYNC write, which the kernel sends as a
 * FUA write and then a flush: ours is sent the same two.
 */
@Timeout(400)
class LogWritesKernelTest {
    private static final Path KERNEL = Path.of("kernel").toAbsolutePath();
    private static final long DATA_BYTES = 8 << 20;
    private static final long LOG_BYTES = 16 << 20;

    @TempDir
    Path dir;

    @Test
    void ourLogAndTheKernelsAreTheSameBytes() throws Exception {
        Path workload = KERNEL.resolve("log-writes/workload.sh");
        List<String> ops = Files.readAllLines(workload).stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();

        Path data = sized(dir.resolve("data.img"), DATA_BYTES);
        Path log = sized(dir.resolve("log.img"), LOG_BYTES);
        try (TargetsFixture fx = new TargetsFixture()) {
            fx.dm.create("lw", "0 " + DATA_BYTES / 512 + " log-writes " + data + " " + log);
            try (BlockDevice lw = fx.dm.open(DeviceRef.of("lw"))) {
                for (String op : ops) run(fx, lw, op.split(" "));
            }
            fx.dm.remove(DeviceRef.of("lw"), false);
        }

        Peers.require("qemu-system-x86_64");
        Path lwio = dir.resolve("lwio");
        Peers.ok(120, Peers.require("gcc"), "-static", "-O2", "-o", lwio.toString(), KERNEL.resolve("log-writes/lwio.c").toString());
        Path kernelLog = sized(dir.resolve("kernel-log.img"), LOG_BYTES);
        Path kernelData = sized(dir.resolve("kernel-data.img"), DATA_BYTES);
        String out = Peers.ok(360, KERNEL.resolve("kdm-vm.sh").toString(), "-t", "300", "-f", lwio.toString(), "-f", workload.toString(),
                KERNEL.resolve("log-writes/guest.sh").toString(), kernelLog.toString(), kernelData.toString());
        assertTrue(out.contains("log-writes       v1.1.0"), out);

        assertArrayEquals(Files.readAllBytes(kernelLog), Files.readAllBytes(log), "the log devices, ours against the kernel's");
        assertArrayEquals(Files.readAllBytes(kernelData), Files.readAllBytes(data), "the data devices");
        ByteBuffer superBlock = ByteBuffer.wrap(Files.readAllBytes(log), 0, 28).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x6a736677736872L, superBlock.getLong(), "a log was written at all");
    }

    /** One line of the workload (see workload.sh for its words). */
    private static void run(TargetsFixture fx, BlockDevice lw, String[] w) {
        switch (w[0]) {
            case "w" -> ok(Io.write(lw, Long.parseLong(w[1]), pattern(w), 0));
            case "W" -> {
                ok(Io.write(lw, Long.parseLong(w[1]), pattern(w), Bio.FUA));
                ok(Io.get(Io.flushAsync(lw)));
            }
            case "f" -> ok(Io.get(Io.flushAsync(lw)));
            case "d" -> ok(Io.get(Io.submit(lw, done -> Bio.discard(Long.parseLong(w[1]), Long.parseLong(w[2]), done))));
            case "z" -> ok(Io.get(Io.submit(lw, done -> Bio.writeZeroes(Long.parseLong(w[1]), Long.parseLong(w[2]), 0, done))));
            case "m" -> fx.dm.message(DeviceRef.of("lw"), new TargetRef.ByIndex(0), Message.of("mark", w[1]));
            default -> throw new AssertionError("unknown workload line " + String.join(" ", w));
        }
    }

    /** lwio's sectors: each its own number (u64 little-endian), then the fill byte. */
    private static byte[] pattern(String[] w) {
        long sector = Long.parseLong(w[1]);
        int count = Integer.parseInt(w[2]);
        ByteBuffer b = ByteBuffer.allocate(count * 512).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            byte[] s = new byte[512];
            java.util.Arrays.fill(s, (byte) Integer.parseInt(w[3]));
            b.put(s).putLong(i * 512, sector + i);
        }
        return b.array();
    }

    private static void ok(IoStatus s) {
        assertTrue(s.isOk(), s.toString());
    }

    private static Path sized(Path file, long bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return file;
    }
}
