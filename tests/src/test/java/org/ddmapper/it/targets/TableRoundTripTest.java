package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.TableLine;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared round trip over every registered target type: each type's sample tables are
 * created, their {@code table} output must be the canonical text, and that output, created as a
 * new device, must give the identical {@code table} output again.
 *
 * <p><b>Every target type needs a sample here.</b> The test fails for any registered type
 * (from any bundle the tests install) without one. In samples, {@code $A $B $C} are 8 MiB
 * files and {@code $S} one whose path contains spaces.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class TableRoundTripTest {

    /** A table to create and the {@code table} text it must give back (the same text unless stated). */
    record Sample(String table, String canonical) {}

    private static final Map<String, List<Sample>> SAMPLES = new LinkedHashMap<>();

    private static void sample(String type, String table) { sample(type, table, table); }

    private static void sample(String type, String table, String canonical) {
        SAMPLES.computeIfAbsent(type, t -> new ArrayList<>()).add(new Sample(table, canonical));
    }

    static {
        sample("linear", "0 2048 linear $A 384");
        sample("linear", "0 1024 linear $S 0\n1024 1024 linear $B 2048");
        sample("striped", "0 4096 striped 2 256 $A 0 $B 1024");
        sample("striped", "0 3072 striped 3 8 $A 0 $S 0 $C 8");
        sample("striped", "0 3000 striped 2 12 $A 0 $A 1500");
        sample("striped", "00 03000 striped 02 012 $A 000 $B 01500", "0 3000 striped 2 12 $A 0 $B 1500");
        sample("linear", "0 2048 linear $A 0384", "0 2048 linear $A 384");
        sample("error", "0 100 error", "0 100 error ");
        sample("error", "0 100 error $A 7", "0 100 error ");
        sample("zero", "0 21474836480 zero", "0 21474836480 zero ");
        sample("delay", "0 2048 delay $A 0 500");
        sample("delay", "0 2048 delay $A 2048 0 $B 4096 400");
        sample("delay", "0 2048 delay $A 0 50 $B 0 100 $A 0 333");
        sample("flakey", "0 2048 flakey $A 0 0 180 1 drop_writes", "0 2048 flakey $A 0 0 180 1 drop_writes ");
        sample("flakey", "0 2048 flakey $A 0 59 1", "0 2048 flakey $A 0 59 1 0 ");
        sample("flakey", "0 2048 flakey $A 8 1 2 6 CORRUPT_BIO_BYTE 32 R 1 0 error_writes",
                "0 2048 flakey $A 8 1 2 6 error_writes corrupt_bio_byte 32 r 1 0 ");
        sample("multipath", "0 2048 multipath 0 0 1 1 round-robin 0 2 1 $A 1 $B 1", "0 2048 multipath 0 0 1 1 round-robin 0 2 1 $A 1 $B 1 ");
        sample("log-writes", "0 2048 log-writes $A $S");
        // a snapshot's COW may have one live table only: each sample has a COW file of its own
        sample("snapshot-origin", "0 2048 snapshot-origin $A");
        sample("snapshot", "0 2048 snapshot $A $P P 8");
        sample("snapshot", "0 2048 snapshot $A $Q po 016 2 discard_passdown_origin DISCARD_ZEROES_COW",
                "0 2048 snapshot $A $Q PO 16 2 discard_zeroes_cow discard_passdown_origin");
        sample("snapshot", "0 2048 snapshot $A $R n 8", "0 2048 snapshot $A $R N 8");
        sample("snapshot-merge", "0 2048 snapshot-merge $A $M P 8");
        sample("mirror", "0 2048 mirror core 1 1024 2 $A 0 $B 0");
        sample("mirror", "0 2048 mirror disk 2 $C 8 2 $A 0 $B 2048 1 handle_errors");
        sample("mirror", "0 2048 mirror core 2 0512 nosync 3 $A 0 $S 0 $B 8 2 keep_log handle_errors",
                "0 2048 mirror core 2 512 nosync 3 $A 0 $S 0 $B 8 2 handle_errors keep_log");
        // a table of several types
        sample("linear", "0 64 zero\n64 2048 linear $A 0\n2112 2048 striped 2 8 $B 0 $C 0\n4160 100 error",
                "0 64 zero \n64 2048 linear $A 0\n2112 2048 striped 2 8 $B 0 $C 0\n4160 100 error ");
    }

    @TempDir static Path dir;
    TargetsFixture fx;
    final Map<String, String> files = new LinkedHashMap<>();

    @BeforeAll
    void start() throws IOException {
        fx = new TargetsFixture();
        for (String name : List.of("A", "B", "C", "P", "Q", "R", "M")) files.put("$" + name, sparseFile(name.toLowerCase() + ".img"));
        files.put("$S", TableLine.escape(sparseFile("with spaces in it.img")));
    }

    @AfterAll
    void stop() { if (fx != null) fx.close(); }

    @Test
    void everyRegisteredTargetTypeRoundTripsItsTable() {
        Set<String> registered = settledTypes();
        assertTrue(registered.containsAll(TargetsFixture.OUR_TYPES), "registered: " + registered);
        Set<String> withoutSample = new TreeSet<>(registered);
        withoutSample.removeAll(SAMPLES.keySet());
        if (!withoutSample.isEmpty())
            fail("target types without a sample in TableRoundTripTest.SAMPLES: " + withoutSample + " (add one per type)");

        List<String> failures = new ArrayList<>();
        int n = 0;
        for (var entry : SAMPLES.entrySet()) {
            if (!registered.contains(entry.getKey())) continue;
            for (Sample sample : entry.getValue()) {
                String table = fill(sample.table());
                String canonical = fill(sample.canonical());
                String first = "rt" + n++;
                String second = first + "-again";
                try {
                    fx.dm.create(first, table);
                    String shown = text(fx.dm.table(DeviceRef.of(first), false));
                    if (!shown.equals(canonical)) {
                        failures.add(entry.getKey() + ": table of\n  " + table + "\nwas\n  " + shown + "\nexpected\n  " + canonical);
                        continue;
                    }
                    if (entry.getKey().startsWith("snapshot")) removeQuietly(first); // one live table per COW, as in the kernel
                    fx.dm.create(second, shown);
                    String again = text(fx.dm.table(DeviceRef.of(second), false));
                    if (!again.equals(shown)) failures.add(entry.getKey() + ": table output\n  " + shown + "\nread back as\n  " + again);
                } catch (RuntimeException e) {
                    failures.add(entry.getKey() + ": " + table + "\n  failed: " + e);
                } finally {
                    removeQuietly(second);
                    removeQuietly(first);
                }
            }
        }
        assertEquals(List.of(), failures, String.join("\n", failures));
        assertTrue(n >= 14, "samples run: " + n);
    }

    /** The registered type names once no new type has appeared for half a second (bundles start one by one). */
    private Set<String> settledTypes() {
        Set<String> last = names();
        long stableSince = System.nanoTime();
        long deadline = stableSince + 5_000_000_000L;
        while (System.nanoTime() - stableSince < 500_000_000L && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            Set<String> now = names();
            if (!now.equals(last)) {
                last = now;
                stableSince = System.nanoTime();
            }
        }
        return last;
    }

    private Set<String> names() {
        return fx.dm.targets().stream().map(TargetTypeInfo::name).collect(Collectors.toCollection(TreeSet::new));
    }

    private String fill(String table) {
        String out = table;
        for (var f : files.entrySet()) out = out.replace(f.getKey(), f.getValue());
        return out;
    }

    private static String text(List<TargetStatus> lines) {
        return lines.stream().map(TargetStatus::toString).collect(Collectors.joining("\n"));
    }

    private void removeQuietly(String name) {
        try {
            fx.dm.remove(DeviceRef.of(name), true);
        } catch (RuntimeException e) {
            // never created
        }
    }

    private String sparseFile(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        return p.toString();
    }
}
