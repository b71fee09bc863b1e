package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;

/**
 * Fuzzes etc/control.conf ({@link AllowList}): a refusal is an IOException naming the file and the
 * line; an accepted file keeps the owner's read and write bits on the socket.
 */
class ControlConfFuzzTest {
    /** In memory when there is a tmpfs: one file per input. */
    private static final Path DIR = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));

    @FuzzTest
    void conf(byte[] input) throws IOException {
        Path file = Files.createTempFile(DIR, "control", ".conf");
        try {
            Files.write(file, input);
            AllowList list;
            try {
                list = AllowList.load(file, 1000);
            } catch (IOException e) {
                assertTrue(e.getMessage() != null && e.getMessage().startsWith(file + " line "), () -> "refusal '" + e.getMessage() + "'");
                return;
            }
            assertTrue(list.socketMode().contains(PosixFilePermission.OWNER_READ) && list.socketMode().contains(PosixFilePermission.OWNER_WRITE),
                    () -> "socket mode " + list.socketMode());
        } finally {
            Files.delete(file);
        }
    }
}
