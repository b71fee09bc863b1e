package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the appliance while qemu-io writes to an origin and to its persistent snapshot, over
 * NBD, then a restart from the same home, in a loop ({@value #DEFAULT_CYCLES} cycles here;
 * bench/snapshot-kill.sh runs {@code -Dddmapper.it.snapshotKillCycles=100} and more). After each
 * restart:
 * <ul>
 * <li>every write qemu-io saw acknowledged is there (origin and snapshot), the one in flight at the
 *     kill is there or not;
 * <li>the snapshot shows no byte of any origin write — the origin as it was when the snapshot was
 *     taken, plus the snapshot's own writes — and a snapshot write in flight (one chunk) is there
 *     whole or not at all;
 * <li>the store comes back valid.
 * </ul>
 */
@Timeout(3600)
class SnapshotKillTest {
    static final int DEFAULT_CYCLES = 3;
    static final int SECTORS = 16384; // 8 MiB
    static final int CHUNK = 8;
    static final Pattern WROTE = Pattern.compile("^wrote (\\d+)/\\d+ bytes at offset (\\d+)", Pattern.MULTILINE);
    @TempDir Path dir;

    /** One write of a run: where, how long, which byte. */
    record Write(long sector, int sectors, int pattern) {}

    @Test
    void killedMidWriteTheSnapshotAndTheOriginComeBackConsistent() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        String qemuImg = Peers.require("qemu-img");
        int cycles = Integer.getInteger("ddmapper.it.snapshotKillCycles", DEFAULT_CYCLES);
        long seed = Long.getLong("ddmapper.it.snapshotKillSeed", 12345);
        Random rnd = new Random(seed);
        Path home = Files.createDirectories(dir.resolve("home"));
        byte[] origin = new byte[SECTORS * 512];
        rnd.nextBytes(origin);
        Path originFile = Files.write(dir.resolve("origin.img"), origin);
        Path cowFile = Files.write(dir.resolve("cow.img"), new byte[SECTORS * 512 + (1 << 20)]);
        byte[] snapshot = origin.clone();
        int kills = 0;
        int midWrite = 0;
        Appliance a = Appliance.start(home);
        try {
            ok(a.ddsetup("create", "snap", "--table", "0 " + SECTORS + " snapshot " + originFile + " " + cowFile + " P " + CHUNK));
            ok(a.ddsetup("create", "base", "--table", "0 " + SECTORS + " snapshot-origin " + originFile));
            for (int cycle = 0; cycle < cycles; cycle++) {
                List<Write> toOrigin = writes(rnd, 2000, false);
                List<Write> toSnapshot = writes(rnd, 1000, true);
                Client o = new Client(qemuIo(qemuIo, a.nbdUri("base"), toOrigin));
                Client s = new Client(qemuIo(qemuIo, a.nbdUri("snap"), toSnapshot));
                int threshold = 5 + rnd.nextInt(200);
                long deadline = System.nanoTime() + 120_000_000_000L;
                while ((o.wrote() < threshold || s.wrote() < threshold) && o.running() && s.running() && System.nanoTime() < deadline)
                    Thread.sleep(1);
                a.close(); // SIGKILL, by pid: the appliance dies wherever it is, both clients writing
                kills++;
                int ackedO = o.acked(toOrigin);
                int ackedS = s.acked(toSnapshot);
                if (ackedO < toOrigin.size() && ackedS < toSnapshot.size()) midWrite++;
                a = Appliance.start(home); // the same devices come back from the home's state
                String status = ok(a.ddsetup("status", "snap"));
                assertFalse(status.contains("Invalid"), "cycle " + cycle + ": " + status);
                byte[] gotO = readAll(qemuImg, a.nbdUri("base"), dir.resolve("o.img"));
                byte[] gotS = readAll(qemuImg, a.nbdUri("snap"), dir.resolve("s.img"));
                check("origin, cycle " + cycle, origin, toOrigin, ackedO, gotO, false);
                check("snapshot, cycle " + cycle, snapshot, toSnapshot, ackedS, gotS, true);
                origin = gotO;
                snapshot = gotS;
            }
            a.stop();
        } finally {
            a.close();
        }
        assertEquals(cycles, kills);
        assertTrue(midWrite * 10 >= cycles * 9, "kills hit both clients mid-run: " + midWrite + " of " + cycles);
        System.out.printf("snapshot kill -9: %d cycles (%d with both clients mid-run), every acknowledged write kept,"
                + " no origin write seen by the snapshot%n", kills, midWrite);
    }

    /** {@code n} writes: to the origin anywhere, 1..16 sectors, bytes 1..127; to the snapshot one whole chunk, bytes 128..254. */
    static List<Write> writes(Random rnd, int n, boolean snapshot) {
        List<Write> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (snapshot) out.add(new Write((long) CHUNK * rnd.nextInt(SECTORS / CHUNK), CHUNK, 128 + rnd.nextInt(127)));
            else {
                int len = 1 + rnd.nextInt(16);
                out.add(new Write(rnd.nextInt(SECTORS - len), len, 1 + rnd.nextInt(127)));
            }
        }
        return out;
    }

    static Process qemuIo(String qemuIo, String uri, List<Write> writes) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(qemuIo, "-f", "raw"));
        for (int i = 0; i < writes.size(); i++) {
            Write w = writes.get(i);
            cmd.add("-c");
            cmd.add("write -P " + w.pattern + " " + w.sector * 512 + " " + w.sectors * 512);
            if (i % 16 == 15) {
                cmd.add("-c");
                cmd.add("flush");
            }
        }
        cmd.add(uri);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /** A running qemu-io whose output is read as it comes, so that the kill can wait for both clients to be writing. */
    static final class Client {
        final Process process;
        final StringBuffer out = new StringBuffer();
        final java.util.concurrent.atomic.AtomicInteger wrote = new java.util.concurrent.atomic.AtomicInteger();
        final Thread reader;

        Client(Process process) {
            this.process = process;
            this.reader = new Thread(() -> {
                try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream()))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        out.append(line).append('\n');
                        if (line.startsWith("wrote ")) wrote.incrementAndGet();
                    }
                } catch (java.io.IOException e) {
                    out.append("(output lost: ").append(e).append(")\n");
                }
            }, "qemu-io output");
            reader.setDaemon(true);
            reader.start();
        }

        int wrote() { return wrote.get(); }

        boolean running() { return process.isAlive(); }

        /** How many writes qemu-io saw acknowledged (its "wrote" lines, in order), once it has ended (killed if it does not). */
        int acked(List<Write> writes) throws Exception {
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) Peers.kill(process);
            reader.join(10_000);
            Matcher m = WROTE.matcher(out);
            int n = 0;
            while (m.find()) {
                Write w = writes.get(n);
                assertEquals(w.sector * 512, Long.parseLong(m.group(2)), "qemu-io's acknowledgements come in order: " + out);
                n++;
            }
            return n;
        }
    }

    static byte[] readAll(String qemuImg, String uri, Path to) throws Exception {
        Files.deleteIfExists(to);
        Peers.ok(120, qemuImg, "convert", "-f", "raw", "-O", "raw", uri, to.toString());
        return Files.readAllBytes(to);
    }

    /**
     * Each sector must hold what the last acknowledged write put there (or what it held before),
     * or what the one write in flight at the kill put there; for the snapshot, the write in flight
     * is all there or not at all.
     */
    static void check(String what, byte[] before, List<Write> writes, int acked, byte[] got, boolean whole) {
        byte[] expected = before.clone();
        for (int i = 0; i < acked; i++) fill(expected, writes.get(i));
        Write inFlight = acked < writes.size() ? writes.get(acked) : null;
        byte[] withInFlight = expected.clone();
        if (inFlight != null) fill(withInFlight, inFlight);
        if (whole && inFlight != null) {
            int from = (int) inFlight.sector * 512;
            int to = from + inFlight.sectors * 512;
            boolean none = Arrays.equals(expected, from, to, got, from, to);
            boolean all = Arrays.equals(withInFlight, from, to, got, from, to);
            assertTrue(none || all, what + ": the write in flight at the kill is half there");
        }
        for (int s = 0; s < SECTORS; s++) {
            int at = s * 512;
            if (Arrays.equals(expected, at, at + 512, got, at, at + 512)) continue;
            if (Arrays.equals(withInFlight, at, at + 512, got, at, at + 512)) continue;
            fail(what + ": sector " + s + " holds " + describe(got, at) + ", expected " + describe(expected, at)
                    + " (" + acked + " writes acknowledged" + (inFlight == null ? "" : ", in flight " + inFlight) + ")");
        }
    }

    private static void fill(byte[] image, Write w) {
        Arrays.fill(image, (int) w.sector * 512, (int) (w.sector + w.sectors) * 512, (byte) w.pattern);
    }

    private static String describe(byte[] b, int at) {
        for (int i = 1; i < 512; i++) if (b[at + i] != b[at]) return "mixed bytes";
        return "byte " + (b[at] & 0xff);
    }

    private static String ok(Appliance.Exit e) {
        assertEquals(0, e.code(), e.toString());
        return e.stdout();
    }
}
