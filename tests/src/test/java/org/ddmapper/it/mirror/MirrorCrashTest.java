package org.ddmapper.it.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the appliance while a client writes with FUA through a mirror with a disk log: after
 * each restart the mirror comes back from the saved state, resyncs the regions its log marks dirty,
 * and then both leg files are equal and hold every write the client saw acknowledged (a write in
 * flight at the kill may or may not be there). The client is qemu-io over NBD, one write of 64 KiB
 * per command, each to a block of its own value.
 *
 * <p>Cycles: 3 here; {@code -Dmirror.crash.cycles=N} for the long correctness run
 * ({@code bench/mirror-crash.sh} runs 100).
 */
class MirrorCrashTest {
    static final int BLOCKS = 256;
    static final int BLOCK_BYTES = 64 * 1024;
    static final long SECTORS = (long) BLOCKS * BLOCK_BYTES / 512; // 16 MiB, 32 regions of 512 KiB
    private static final Pattern WROTE = Pattern.compile("wrote \\d+/\\d+ bytes at offset \\d+");
    @TempDir Path dir;

    /** What each block may hold: the value last acknowledged, or one written after it without an answer. */
    private final Map<Integer, Integer> acked = new HashMap<>();
    private final Map<Integer, Set<Integer>> maybe = new HashMap<>();

    @Test
    @Timeout(value = 3600)
    void killNineDuringWritesLosesNoAcknowledgedWriteAndTheLegsResyncToEqual() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        int cycles = Integer.getInteger("mirror.crash.cycles", 3);
        Path home = Files.createDirectories(dir.resolve("home"));
        Path a = file("a.img", SECTORS);
        Path b = file("b.img", SECTORS);
        Path log = file("log.img", 8);
        String table = "0 " + SECTORS + " mirror disk 2 " + log + " 1024 2 " + a + " 0 " + b + " 0 1 handle_errors";
        Random random = new Random(cycles);
        int value = 0;
        long killedInFlight = 0;
        for (int cycle = 0; cycle <= cycles; cycle++) {
            try (Appliance app = Appliance.start(home)) {
                if (cycle == 0) {
                    Appliance.Exit created = app.ddsetup("create", "m", "--table", table);
                    assertEquals(0, created.code(), created.toString());
                }
                awaitInSync(app);
                verify(a, b, cycle);
                if (cycle == cycles) {
                    app.stop();
                    break;
                }
                List<int[]> writes = new ArrayList<>();
                List<String> command = new ArrayList<>(List.of(qemuIo, "-f", "raw", app.nbdUri("m")));
                for (int i = 0; i < 40; i++) {
                    value = value % 250 + 1;
                    int block = random.nextInt(BLOCKS);
                    writes.add(new int[] {block, value});
                    command.addAll(List.of("-c", "write -f -P " + value + " " + (long) block * BLOCK_BYTES + " 64k"));
                }
                CompletableFuture<Peers.Result> client = CompletableFuture.supplyAsync(() -> {
                    try {
                        return Peers.run(60, command.toArray(String[]::new));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                Thread.sleep(50 + random.nextInt(400));
                app.close(); // SIGKILL by pid
                Peers.Result r = client.get();
                // qemu-io runs its commands in order: the first n writes were acknowledged, the next one was in flight
                int n = 0;
                for (Matcher m = WROTE.matcher(r.output()); m.find(); ) n++;
                for (int[] w : writes.subList(0, n)) {
                    acked.put(w[0], w[1]);
                    maybe.remove(w[0]);
                }
                if (n < writes.size()) {
                    maybe.computeIfAbsent(writes.get(n)[0], k -> new HashSet<>()).add(writes.get(n)[1]);
                    killedInFlight++;
                }
            }
        }
        System.out.printf("mirror crash: %d cycles, %d acknowledged blocks checked, %d kills with a write in flight%n",
                cycles, acked.size(), killedInFlight);
        assertTrue(acked.size() > 0, "the client got writes acknowledged");
    }

    private void awaitInSync(Appliance app) throws Exception {
        Waits.await("m back and in sync", java.time.Duration.ofSeconds(120), () -> {
            try {
                Appliance.Exit s = app.ddsetup("status", "m");
                return s.code() == 0 && s.stdout().contains(" 32/32 1 AA ");
            } catch (Exception e) {
                return false;
            }
        });
    }

    private void verify(Path a, Path b, int cycle) throws Exception {
        assertEquals(-1, Files.mismatch(a, b), "cycle " + cycle + ": the legs are equal after the resync");
        byte[] block = new byte[BLOCK_BYTES];
        try (RandomAccessFile f = new RandomAccessFile(a.toFile(), "r")) {
            for (var e : acked.entrySet()) {
                f.seek((long) e.getKey() * BLOCK_BYTES);
                f.readFully(block);
                Set<Integer> inFlight = maybe.getOrDefault(e.getKey(), Set.of());
                boolean whole = false;
                for (int v : concat(e.getValue(), inFlight)) {
                    byte[] expect = new byte[BLOCK_BYTES];
                    Arrays.fill(expect, (byte) v);
                    whole |= Arrays.equals(expect, block);
                }
                // a block a write in flight at the kill may have torn holds anything; every other one its acknowledged value
                assertTrue(whole || !inFlight.isEmpty(), "cycle " + cycle + ": block " + e.getKey() + " lost its acknowledged value "
                        + e.getValue() + " (starts with " + block[0] + ")");
            }
        }
    }

    private static Set<Integer> concat(int first, Set<Integer> more) {
        Set<Integer> all = new HashSet<>(more);
        all.add(first);
        return all;
    }

    private Path file(String name, long sectors) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(sectors * 512);
        }
        return p;
    }
}
