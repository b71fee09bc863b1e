package org.ddmapper.core.internal.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import org.ddmapper.api.StoredBundle;
import org.ddmapper.api.StoredBundle.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundleStoreTest {
    private static final String LINEAR = "org.ddmapper.target.linear";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T17:40:01.345Z"), ZoneOffset.UTC);

    @TempDir Path tmp;

    private Path jar(String name) throws IOException {
        return Files.writeString(tmp.resolve(name), "jar " + name);
    }

    private static List<String> statuses(List<StoredBundle.Version> versions) {
        return versions.stream().map(v -> v.version() + " " + v.status()).toList();
    }

    @Test
    void storedVersionsStackNewestFirstAndSurviveAReopen() throws IOException {
        Path dir = tmp.resolve("home/bundles");
        BundleStore store = new BundleStore(dir, CLOCK);
        store.store(LINEAR, "0.1.1", jar("a.jar"), "0.1.0", "0.1.0");
        store.store(LINEAR, "0.1.2", jar("b.jar"), "0.1.1", "0.1.0");
        assertEquals("jar b.jar", Files.readString(store.jarFile(LINEAR, "0.1.2")));
        assertEquals(List.of("0.1.2 CURRENT", "0.1.1 PREVIOUS"), statuses(store.versions(LINEAR, "0.1.0")));
        assertEquals(List.of("0.1.2 OTHER_IMAGE", "0.1.1 OTHER_IMAGE"), statuses(store.versions(LINEAR, "0.2.0")),
                "a store made over another image's version does not apply");

        BundleStore again = new BundleStore(dir, CLOCK);
        assertEquals(store.history(), again.history());
        assertEquals(List.of(LINEAR), again.bundles());
        assertEquals("# what a boot tries, newest first: BUNDLE<TAB>VERSION<TAB>IMAGE-VERSION<TAB>JAR (derived from history)\n"
                + LINEAR + "\t0.1.2\t0.1.0\t" + LINEAR + "-0.1.2.jar\n" + LINEAR + "\t0.1.1\t0.1.0\t" + LINEAR + "-0.1.1.jar\n",
                Files.readString(dir.resolve(BundleStore.BOOT_LIST)));
        assertTrue(Files.readString(dir.resolve(BundleStore.HISTORY)).contains(
                "2026-12-07T17:40:01Z stored " + LINEAR + " 0.1.2 from=0.1.1 image=0.1.0\n"));
    }

    @Test
    void aSetAsideVersionLeavesTheBootListAndARevertDropsItsJar() throws IOException {
        BundleStore store = new BundleStore(tmp.resolve("bundles"), CLOCK);
        store.store(LINEAR, "0.1.1", jar("a.jar"), "0.1.0", "0.1.0");
        store.store(LINEAR, "0.1.2", jar("b.jar"), "0.1.1", "0.1.0");
        store.setAside(LINEAR, "0.1.2", "it does not start:\nmissing requirement");
        List<StoredBundle.Version> v = store.versions(LINEAR, "0.1.0");
        assertEquals(List.of("0.1.2 SET_ASIDE", "0.1.1 CURRENT"), statuses(v));
        assertEquals("it does not start: missing requirement", v.get(0).reason());
        assertEquals(List.of(LINEAR + "\t0.1.1\t0.1.0\t" + LINEAR + "-0.1.1.jar"), bootLines(store));

        store.reverted(LINEAR, "0.1.1");
        assertTrue(Files.notExists(store.jarFile(LINEAR, "0.1.1")));
        assertEquals(List.of("0.1.2 SET_ASIDE"), statuses(store.versions(LINEAR, "0.1.0")));
        assertEquals(List.of(), bootLines(store));

        store.store(LINEAR, "0.1.2", jar("c.jar"), "0.1.0", "0.1.0");
        assertEquals(List.of("0.1.2 CURRENT"), statuses(store.versions(LINEAR, "0.1.0")), "stored again, it is tried again");
    }

    @Test
    void aStoreThatCannotBeWrittenFailsAndKeepsItsHistory() throws IOException {
        Path dir = tmp.resolve("bundles");
        BundleStore store = new BundleStore(dir, CLOCK);
        store.store(LINEAR, "0.1.1", jar("a.jar"), "0.1.0", "0.1.0");
        Files.createDirectory(dir.resolve("." + BundleStore.HISTORY + ".new")); // the new history cannot be written
        assertThrows(IOException.class, () -> store.setAside(LINEAR, "0.1.1", "x"));
        assertEquals(1, store.history().size());
        assertEquals(List.of("0.1.1 CURRENT"), statuses(store.versions(LINEAR, "0.1.0")));
    }

    @Test
    void damagedHistoryLinesAreSkippedAndTheRestReplays() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bundles"));
        Files.writeString(dir.resolve(BundleStore.HISTORY), String.join("\n",
                "# comment",
                "2026-12-07T17:40:01Z stored b 1.0.1 from=1.0.0 image=1.0.0",
                "garbage",
                "2026-12-07T17:40:01Z stored b 1.0.2 from=1.0.1",
                "yesterday stored b 1.0.3 from=1.0.2 image=1.0.0",
                "2026-12-07T17:40:02Z exploded b 1.0.1",
                "2026-12-07T17:40:03Z set-aside b 1.0.1 reason=bad", ""), StandardCharsets.UTF_8);
        BundleStore store = new BundleStore(dir, CLOCK);
        assertEquals(List.of("1.0.1 SET_ASIDE"), statuses(store.versions("b", "1.0.0")));
    }

    @Test
    void everyRecordReadsBackFromItsLine() {
        List<StoreRecord> records = List.of(
                new StoreRecord.Stored(CLOCK.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), "b", "1.0.1", "1.0.0", "1.0.0"),
                new StoreRecord.Stored(Instant.EPOCH, "b", "1.0.1", "1.0.0", ""),
                new StoreRecord.Reverted(Instant.EPOCH, "b", "1.0.1"),
                new StoreRecord.SetAside(Instant.EPOCH, "b", "1.0.1", "it does not start: x=y z"));
        for (StoreRecord r : records) assertEquals(r, StoreRecord.parse(r.line()), r.line());
        assertEquals("line ends", assertThrows(IllegalArgumentException.class,
                () -> StoreRecord.parse("1970-01-01T00:00:00Z reverted b 1 extra")).getMessage().replaceAll(".*(line ends).*", "$1"));
    }

    /** Random damage to good lines: parse either reads a record whose line parses to itself, or throws IllegalArgumentException. */
    @Test
    void randomlyDamagedLinesNeverThrowAnythingElse() {
        Random random = new Random(23);
        String[] good = {"2026-12-07T17:40:01Z stored b 1.0.1 from=1.0.0 image=1.0.0", "2026-12-07T17:40:01Z reverted b 1.0.1",
                "2026-12-07T17:40:01Z set-aside b 1.0.1 reason=it does not start"};
        String alphabet = " =:-.TZ0123456789abstoredrevertimagefromreason\t\u00e9";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder line = new StringBuilder(good[random.nextInt(good.length)]);
            for (int edits = 1 + random.nextInt(4); edits > 0 && line.length() > 0; edits--) {
                int at = random.nextInt(line.length());
                switch (random.nextInt(3)) {
                    case 0 -> line.deleteCharAt(at);
                    case 1 -> line.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    default -> line.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                }
            }
            try {
                StoreRecord r = StoreRecord.parse(line.toString());
                assertEquals(r, StoreRecord.parse(r.line()), line.toString());
            } catch (IllegalArgumentException expected) {
                // named what was wrong
            }
        }
    }

    private static List<String> bootLines(BundleStore store) throws IOException {
        return Files.readAllLines(store.dir().resolve(BundleStore.BOOT_LIST)).stream().filter(l -> !l.startsWith("#")).toList();
    }
}
