package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TargetTypeInfo;
import org.ddmapper.api.cli.Command;
import org.ddmapper.api.cli.CommandLine;
import org.ddmapper.control.cli.Ddsetup;
import org.ddmapper.it.support.Io;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dmsetup compatibility suite: every case of tests/kernel/dmsetup-compat/cases run against
 * a fresh appliance, each line through the distribution's native {@code bin/ddsetup} and through
 * the Java ddsetup, and each output compared byte for byte (trailing blanks included) with what
 * Linux 6.1 and dmsetup 1.02.185 printed for it (expected/, taken by record.sh in a VM; no VM runs
 * here), after {@link KernelText} undoes the differences kept on purpose. A failing line is
 * compared by its exit status and the errno text the kernel's error carries. The backing disks
 * are four 8 MiB files, as the guest's four disks; the kernel's minors are told apart from
 * ddmapper's ids by replaying its allocation (the lowest free minor at each create).
 */
@Timeout(600)
class DmsetupCompatTest {
    /** Where the cases and their recordings live. */
    static Path compatDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path dir = p.resolve("tests/kernel/dmsetup-compat");
            if (Files.isDirectory(dir.resolve("cases"))) return dir;
        }
        throw new IllegalStateException("tests/kernel/dmsetup-compat not found");
    }

    /** Verbs that change nothing, so both clients can run them. */
    static final java.util.Set<String> READ_ONLY = java.util.Set.of("status", "table", "info", "ls", "deps", "targets", "version", "help", "mknodes");

    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> everyCaseAsTheKernelPrintsIt() throws IOException {
        Path compat = compatDir();
        List<String> names;
        try (Stream<Path> s = Files.list(compat.resolve("cases"))) {
            names = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".case")).map(n -> n.replaceFirst("\\.case$", ""))
                    .sorted().toList();
        }
        assertTrue(names.size() >= 10, "the cases are there: " + names);
        return names.stream().map(n -> DynamicTest.dynamicTest(n, () -> run(CompatCase.read(compat, n))));
    }

    private void run(CompatCase c) throws Exception {
        Path caseDir = Files.createDirectories(dir.resolve(c.name()));
        List<String> disks = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            Path disk = caseDir.resolve("d" + k + ".img");
            try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength(8L << 20);
            }
            disks.add(disk.toString());
        }
        try (ControlHarness appliance = ControlHarness.start(); Session s = new Session(appliance, disks)) {
            appliance.waitForTypes("multipath", "striped", "delay", "flakey", "error");
            // every line runs even after one differs (what follows usually still compares), and all differences are told at once
            List<String> differences = new ArrayList<>();
            for (CompatCase.Step step : c.steps()) {
                try {
                    s.check(c, step);
                } catch (AssertionError e) {
                    differences.add(e.getMessage());
                }
            }
            if (!differences.isEmpty())
                throw new AssertionError(differences.size() + " of " + c.steps().size() + " lines differ from Linux 6.1 (" + c.description()
                        + "):\n\n" + String.join("\n\n", differences));
        }
    }

    /** One case's appliance, its open handles and background reads, and its count of created devices. */
    private static final class Session implements AutoCloseable {
        final ControlHarness appliance;
        final DeviceManager manager;
        final List<String> disks;
        final List<CompletableFuture<Integer>> reads = new ArrayList<>();
        DeviceManager.OpenDevice held;
        int changes;
        /** The minor the kernel gave each device of the case (the lowest free one at its create), by ddmapper id. */
        final Map<Long, Integer> minors = new HashMap<>();

        Session(ControlHarness appliance, List<String> disks) {
            this.appliance = appliance;
            this.manager = appliance.manager;
            this.disks = disks;
        }

        String variable(String name) {
            if (name.matches("D[0-3]")) return disks.get(name.charAt(1) - '0');
            if (name.equals("NL")) return "\n";
            if (name.startsWith("DM_")) return "dm:" + name.substring(3);
            return null;
        }

        void check(CompatCase c, CompatCase.Step step) throws Exception {
            String where = c.name() + ": " + step.line();
            if (step.isDirective()) {
                assertEquals(step.status(), directive(step.line()), where);
                return;
            }
            List<String> args = step.dmsetupArgs(this::variable);
            // a verb that only reads runs through both clients, which must agree; one that changes
            // something runs once, through either client in turn
            boolean readOnly = READ_ONLY.contains(args.get(0));
            ControlHarness.Result nat = readOnly || ++changes % 2 == 1 ? appliance.binDdsetup(null, args.toArray(String[]::new)) : null;
            if (nat == null || readOnly) {
                ControlHarness.Result java = javaDdsetup(args);
                if (nat != null) assertEquals(nat, new ControlHarness.Result(java.exit(), java.stdout(), java.stderr(), nat.millis()),
                        where + ": the native and the Java ddsetup print the same");
                nat = java;
            }

            assertEquals(step.status(), nat.exit(), where + ": exit status (stderr: " + nat.stderr() + ")");
            if (args.get(0).equals("create") && nat.exit() == 0) {
                String name = ((Command.Create) CommandLine.parse(args)).name();
                int minor = 0;
                while (minors.containsValue(minor)) minor++;
                minors.put(manager.info(DeviceRef.of(name)).id(), minor);
            }
            List<Long> ids = manager.list().stream().map(DeviceInfo::id).toList();
            minors.keySet().retainAll(ids);
            Map<Integer, Long> idOfMinor = new HashMap<>();
            minors.forEach((id, minor) -> idOfMinor.put(minor, id));
            if (step.marker().equals("shared-types")) {
                sharedTypes(where, step.stdout(), nat.stdout());
            } else {
                assertEquals(KernelText.expected(step.stdout(), disks, idOfMinor), nat.stdout(), where);
            }
            if (step.status() != 0) {
                assertTrue(nat.stderr().startsWith("ddsetup: "), where + ": " + nat.stderr());
                for (Errno e : Errno.values()) {
                    if (step.stderr().contains(e.description()))
                        assertTrue(nat.stderr().contains(e.description()), where + ": the kernel said '" + e.description() + "', ddsetup: " + nat.stderr());
                }
            } else if (step.stderr().isEmpty()) {
                assertEquals("", nat.stderr(), where);
            }
        }

        /** The Java ddsetup, in this JVM. */
        ControlHarness.Result javaDdsetup(List<String> args) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            List<String> argv = new ArrayList<>(List.of("--socket", appliance.socket.toString()));
            argv.addAll(args);
            int status = Ddsetup.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            return new ControlHarness.Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), 0);
        }

        /** {@code dmsetup targets}: the kernel's line for every type ddmapper has too, and ddmapper's lines in its format. */
        void sharedTypes(String where, String kernel, String ours) {
            List<String> lines = List.of(ours.split("\n"));
            for (String line : lines) assertTrue(line.matches("[a-z0-9-]+ {1,16}v[0-9]+\\.[0-9]+\\.[0-9]+") && line.indexOf(" v") >= 16, where + ": " + line);
            List<String> types = manager.targets().stream().map(TargetTypeInfo::name).toList();
            int shared = 0;
            for (String k : kernel.split("\n")) {
                if (!types.contains(k.substring(0, k.indexOf(' ')))) continue;
                assertTrue(lines.contains(k), where + ": the kernel's '" + k + "' is not in:\n" + ours);
                shared++;
            }
            assertTrue(shared >= 7, where + ": only " + shared + " types in common");
        }

        /** Runs a directive; returns its status (0, or 1 when the read or open failed). */
        int directive(String line) throws Exception {
            List<String> w = CompatCase.words(line, this::variable);
            switch (w.get(0)) {
                case "!read" -> {
                    return read(w.get(1));
                }
                case "!read&" -> {
                    String name = w.get(1);
                    reads.add(CompletableFuture.supplyAsync(() -> read(name)));
                    return 0;
                }
                case "!wait" -> {
                    int status = 0;
                    for (CompletableFuture<Integer> r : reads) status |= r.get(60, TimeUnit.SECONDS);
                    reads.clear();
                    return status;
                }
                case "!open" -> {
                    held = manager.open(DeviceRef.of(w.get(1)));
                    return 0;
                }
                case "!close" -> {
                    held.close();
                    held = null;
                    return 0;
                }
                case "!sleep" -> {
                    Thread.sleep(Long.parseLong(w.get(1)) * 1000);
                    return 0;
                }
                default -> throw new IllegalArgumentException("unknown directive " + line);
            }
        }

        /** What {@code dd iflag=direct bs=4096 count=1} does: one 4 KiB read at sector 0; 0 when it succeeded. */
        int read(String name) {
            try (DeviceManager.OpenDevice d = manager.open(DeviceRef.of(name))) {
                return Io.read(d, 0, ByteBuffer.allocate(4096)).isOk() ? 0 : 1;
            } catch (RuntimeException e) {
                return 1;
            }
        }

        @Override
        public void close() {
            if (held != null) held.close();
            for (CompletableFuture<Integer> r : reads) r.cancel(true);
        }
    }
}
