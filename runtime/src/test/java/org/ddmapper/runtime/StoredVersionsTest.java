package org.ddmapper.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoredVersionsTest {
    @TempDir Path store;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private StoredVersions read(String text) throws IOException {
        Files.writeString(store.resolve(StoredVersions.BOOT_LIST), text);
        return StoredVersions.read(store, new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void candidatesAreTheStoredVersionsOverThisImagesVersionNewestFirst() throws IOException {
        StoredVersions v = read("""
                # comment
                b\t1.0.2\t1.0.0\tb-1.0.2.jar
                c\t2.0.1\t2.0.0\tc-2.0.1.jar
                b\t1.0.1\t1.0.0\tb-1.0.1.jar
                b\t0.9.1\t0.9.0\tb-0.9.1.jar
                """);
        assertEquals(List.of(new StoredVersions.Candidate("b", "1.0.2", "1.0.0", store.resolve("b-1.0.2.jar")),
                new StoredVersions.Candidate("b", "1.0.1", "1.0.0", store.resolve("b-1.0.1.jar"))), v.candidates("b", "1.0.0"));
        assertEquals(List.of(), v.candidates("b", "1.1.0"), "upgrades of another image's version do not apply");
        assertEquals(List.of(), v.candidates("d", "1.0.0"));
        assertEquals("", err.toString());
    }

    @Test
    void noFileMeansNothingStoredAndABadLineIsNamedAndSkipped() throws IOException {
        assertEquals(List.of(), StoredVersions.read(store.resolve("missing"), new PrintStream(err)).lines());
        StoredVersions v = read("b\t1.0.1\t1.0.0\n" + "b\t1.0.1\t1.0.0\t../../etc/passwd\n" + "b\t1.0.2\t1.0.0\tb-1.0.2.jar\n");
        assertEquals(1, v.lines().size());
        String[] warnings = err.toString().split("\n");
        assertEquals(2, warnings.length, err.toString());
        assertTrue(warnings[0].startsWith("ddmapper: warning: " + store.resolve("boot.list") + ":1: expected BUNDLE<TAB>VERSION"), warnings[0]);
        assertTrue(warnings[1].contains(":2: ") && warnings[1].endsWith("got 'b\t1.0.1\t1.0.0\t../../etc/passwd'; skipped"), warnings[1]);
    }

    /** Random bytes and damaged lines: read never throws, and every candidate it keeps lies in the store. */
    @Test
    void damagedFilesNeverEscapeTheStoreOrThrow() throws IOException {
        Random random = new Random(24);
        String good = "b\t1.0.1\t1.0.0\tb-1.0.1.jar\n";
        for (int i = 0; i < 500; i++) {
            StringBuilder text = new StringBuilder(good.repeat(1 + random.nextInt(3)));
            for (int edits = random.nextInt(6); edits > 0 && text.length() > 0; edits--) {
                int at = random.nextInt(text.length());
                char c = "\t\n/.#b0\u0000\u00e9 ".charAt(random.nextInt(10));
                if (random.nextBoolean()) text.setCharAt(at, c);
                else text.insert(at, c);
            }
            for (StoredVersions.Candidate c : read(text.toString()).lines()) {
                assertEquals(store, c.jar().getParent(), c.toString());
            }
        }
    }
}
