package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.Io;

/**
 * A snapshot scenario of tests/kernel/snapshot (the language of its scenario.sh), replayed with
 * ddmapper: the same tables under the same names, the same writes one after another. What the
 * kernel printed as "status: ..." and "table: ..." lines is collected the same way, with device
 * references written as the kernel writes them ({@code 254:0}) replaced by "ORIGIN" and "COW" in
 * both, so the lines compare.
 */
final class Scenario {
    final List<String> lines;

    private Scenario(List<String> lines) {
        this.lines = lines;
    }

    /** tests/kernel/snapshot/NAME, from the tests module's directory. */
    static Scenario load(String name) throws IOException {
        return new Scenario(Files.readAllLines(kernelDir().resolve(name)));
    }

    static Scenario of(String... lines) {
        return new Scenario(List.of(lines));
    }

    static Path kernelDir() {
        return Path.of(System.getProperty("user.dir")).resolve("kernel/snapshot");
    }

    /** Runs the scenario on {@code origin} and {@code cow} files; returns the status and table lines. */
    List<String> replay(DeviceManager dm, Path origin, Path cow) {
        long sectors = size(origin) / 512;
        String mode = "P";
        int chunk = 8;
        List<String> out = new ArrayList<>();
        BlockDevice o = null;
        BlockDevice s = null;
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] w = line.split("\\s+");
            switch (w[0]) {
                case "store" -> {
                    mode = w[1];
                    chunk = Integer.parseInt(w[2]);
                }
                case "activate" -> {
                    dm.create("korigin", "0 " + sectors + " snapshot-origin " + origin);
                    dm.create("ksnap", "0 " + sectors + " snapshot " + origin + " " + cow + " " + mode + " " + chunk);
                    o = dm.open(DeviceRef.of("korigin"));
                    s = dm.open(DeviceRef.of("ksnap"));
                }
                case "write" -> {
                    BlockDevice target = w[1].equals("origin") ? o : s;
                    byte[] data = new byte[Integer.parseInt(w[3]) * 512];
                    Arrays.fill(data, (byte) Integer.parseInt(w[4]));
                    IoStatus status = Io.write(target, Long.parseLong(w[2]), data);
                    if (!status.isOk()) out.add("write failed: " + w[1] + " " + w[2] + " " + w[3] + " " + w[4]);
                }
                case "status" -> out.add("status: " + status(dm, "ksnap"));
                case "deactivate" -> {
                    out.add("status: " + status(dm, "ksnap"));
                    out.add("table: " + canonical(dm.table(DeviceRef.of("ksnap"), false).get(0).toString(), origin, cow));
                    o.close();
                    s.close();
                    dm.remove(DeviceRef.of("ksnap"), false);
                    dm.remove(DeviceRef.of("korigin"), false);
                }
                default -> throw new IllegalArgumentException("scenario verb " + w[0]);
            }
        }
        return out;
    }

    static String status(DeviceManager dm, String name) {
        return dm.status(DeviceRef.of(name)).get(0).toString();
    }

    /** A table line with the origin and COW written as ORIGIN and COW. */
    static String canonical(String table, Path origin, Path cow) {
        return table.replace(origin.toString(), "ORIGIN").replace(cow.toString(), "COW");
    }

    /** The kernel's lines of a scenario run, its table lines with {@code maj:min ma2:mi2} as ORIGIN COW. */
    static List<String> kernelLines(List<String> printed) {
        List<String> out = new ArrayList<>();
        for (String l : printed) {
            if (l.isBlank()) continue;
            out.add(l.startsWith("table: ") ? l.replaceFirst("snapshot \\d+:\\d+ \\d+:\\d+ ", "snapshot ORIGIN COW ") : l);
        }
        return out;
    }

    private static long size(Path p) {
        try {
            long n = Files.size(p);
            assertTrue(n % 512 == 0, p + " is not whole sectors");
            return n;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
