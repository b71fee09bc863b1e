package org.ddmapper.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HomeTest {

    @Test
    void createLaysOutEveryFolder(@TempDir Path dir) throws LaunchFailure {
        Home home = new Home(dir.resolve("home"));
        home.create();
        for (String folder : new String[] {"state", "run", "log", "cache", "data"}) {
            assertTrue(Files.isDirectory(dir.resolve("home").resolve(folder)), folder);
        }
    }

    @Test
    void aFileWhereTheHomeShouldBeIsReported(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        LaunchFailure failure = assertThrows(LaunchFailure.class, () -> new Home(file).create());
        assertEquals("cannot create " + file + ": exists and is not a directory", failure.getMessage());
    }

    @Test
    void theDemoImageIsSparseAndAnExistingOneIsKept(@TempDir Path dir) throws Exception {
        Home home = new Home(dir);
        home.create();
        Path image = home.createDemoImage();
        assertEquals(Home.DEMO_IMAGE_BYTES, Files.size(image));
        long allocated = allocatedBytes(image);
        assertTrue(allocated < Home.DEMO_IMAGE_BYTES / 16, "allocated " + allocated + " bytes");

        Files.write(image, new byte[] {1, 2, 3});
        home.createDemoImage();
        assertEquals(3, Files.size(image));
        assertTrue(Files.readAttributes(image, BasicFileAttributes.class).isRegularFile());
    }

    /** st_blocks × 512, from stat(1): Java 17 has no attribute for it. */
    private static long allocatedBytes(Path file) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String output = new String(stat.getInputStream().readAllBytes()).strip();
        assertEquals(0, stat.waitFor(), output);
        return Long.parseLong(output) * 512;
    }

    @Test
    void theShippedDemoTableMapsExactlyTheDemoImage() throws Exception {
        Path table = Path.of(System.getProperty("user.dir")).resolve("../etc/tables/demo.table");
        String[] words = Files.readString(table).strip().split("\\s+");
        assertEquals("0", words[0]);
        assertEquals(Home.DEMO_IMAGE_BYTES / 512, Long.parseLong(words[1]));
        assertEquals("linear", words[2]);
        assertEquals("${home}/data/" + Home.DEMO_IMAGE, words[3]);
    }
}
