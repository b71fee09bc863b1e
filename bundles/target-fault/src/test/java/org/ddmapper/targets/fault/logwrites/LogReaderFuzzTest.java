package org.ddmapper.targets.fault.logwrites;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Fuzzes the log reader and replay (a log is outside input: the kernel's, a crashed run's, a
 * damaged file): whatever the bytes, opening, listing and replaying onto a 1 MiB image either work
 * or fail with a LogFormatException naming what is wrong; entries follow each other inside the log,
 * and nothing is written past the image.
 */
class LogReaderFuzzTest {
    private static final Path DIR = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
    private static final long IMAGE_SECTORS = 2048;

    @FuzzTest
    void log(byte[] input) throws IOException {
        Path file = Files.createTempFile(DIR, "fuzz", ".log");
        Path image = Files.createTempFile(DIR, "fuzz", ".img");
        try {
            Files.write(file, input);
            try (LogReader r = LogReader.open(file); FileChannel out = FileChannel.open(image, StandardOpenOption.WRITE)) {
                List<LogReader.Entry> entries = r.entries();
                assertEquals(r.count(), entries.size());
                long end = r.blockBytes();
                LogReplay replay = new LogReplay(r, out, IMAGE_SECTORS);
                for (LogReader.Entry e : entries) {
                    assertEquals(end, e.logOffset(), "entries follow each other");
                    end = e.dataOffset() + e.header().dataBlocks() * r.blockBytes();
                    assertTrue(end <= input.length, "entry inside the log");
                    assertNotNull(e.toString());
                    replay.apply(e);
                }
                assertTrue(out.size() <= IMAGE_SECTORS * 512, "nothing past the image");
            } catch (LogReader.LogFormatException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            }
        } finally {
            Files.delete(file);
            Files.delete(image);
        }
    }
}
