package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The transmission phase under a seeded random hostile client, through the real server: thousands
 * of short sessions, each negotiating some way (with or without block sizes, structured replies,
 * base:allocation) and then sending a few requests of any type (unknown ones too), any flags,
 * offsets and lengths (byte offsets, past the end, overflowing, the maximum and around it, 4 GiB -
 * 1), WRITE payloads whole, truncated or missing, sometimes a bad magic — and then reading its
 * replies, disconnecting, or hanging up at once. Meanwhile a {@link Bystander} verifies its data
 * on its own export over and over. At the end the memory budget is whole again, nobody waits for
 * it, the process's threads and descriptors are back to the baseline within a second, a new
 * client is served, and nothing was logged as a server error.
 *
 * <p>The seed is printed and named in every failure; {@code -Dnbd.fuzz.seed=N} replays one run
 * (thread interleavings aside). The run stops after {@value #SESSIONS} sessions or {@value
 * #MAX_SECONDS} s, whichever comes first. (A plain JUnit randomized test: the build has no
 * coverage-guided fuzzing set up yet.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransmissionFuzzTest extends ServerTestBase {
    static final int SESSIONS = 4000;
    static final int MAX_SECONDS = 25;
    static final int WORKERS = 4;
    static final int MAX = Nbd.MAX_PAYLOAD_BYTES;
    static final int BIG_BYTES = MAX + (1 << 20);
    static final String[] EXPORTS = {"disk", "ro", "big"};
    static final int SESSION_SECONDS = 3;
    private static final ScheduledThreadPoolExecutor WATCHDOG = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "fuzz watchdog");
        t.setDaemon(true);
        return t;
    });

    static {
        WATCHDOG.prestartAllCoreThreads(); // before the baseline is taken
    }

    @Override
    ServerLimits limits() {
        // A smaller per-connection cap than the default, so clients also wait for room on their own connection.
        return ServerLimits.DEFAULTS.withInFlight(8 << 20, 64).withPayloadMillis(2_000);
    }

    @Override
    long poolKeepBytes() {
        return 64 << 20;
    }

    @BeforeEach
    void bigDeviceAndBystander() throws IOException {
        devices.add("big", BIG_BYTES, false);
        connectBystander();
        bystander.verify();
    }

    @Test
    void randomHostileSessionsLeaveTheServerWhole() throws Exception {
        long seed = Long.getLong("nbd.fuzz.seed", System.nanoTime());
        System.out.println("TransmissionFuzzTest seed " + seed + " (replay with -Dnbd.fuzz.seed=" + seed + ")");
        String run = "seed " + seed + ": ";
        ProcessBaseline baseline = ProcessBaseline.take();
        int logMark = LogRecorder.mark();

        AtomicInteger sessions = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(MAX_SECONDS);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            Random random = new Random(seed + w);
            Thread t = new Thread(() -> {
                try {
                    while (sessions.incrementAndGet() <= SESSIONS && System.nanoTime() < end && failure.get() == null) {
                        session(random);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "fuzz client " + w);
            threads.add(t);
            t.start();
        }
        int rounds = 0;
        try {
            while (threads.stream().anyMatch(Thread::isAlive) && failure.get() == null) {
                bystander.verify();
                rounds++;
                Thread.sleep(20); // pacing: the bystander checks throughout without taking the fuzzers' CPU
            }
        } finally {
            for (Thread t : threads) t.join(60_000);
        }
        if (failure.get() != null) throw new AssertionError(run + "a fuzzing client failed", failure.get());
        int ran = Math.min(sessions.get(), SESSIONS);
        System.out.println("TransmissionFuzzTest: " + ran + " sessions, " + rounds + " bystander rounds");
        assertTrue(ran >= 1000, run + "only " + ran + " sessions in " + MAX_SECONDS + " s");
        assertTrue(rounds > 0, run + "the bystander verified its data during the run");

        await("the whole memory budget back", () -> server.budget().usedBytes() == 0);
        assertEquals(0, server.budget().waiting(), run + "nobody waits for memory");
        baseline.assertRestoredWithin(1_000);
        assertGoodClientServed();
        assertEquals(List.of(), LogRecorder.serverBugsSince(logMark), run + "no server error logged for a client's request");
    }

    /**
     * One hostile session: a random negotiation, a few random requests, then one way of leaving.
     * A session still writing after {@value #SESSION_SECONDS} s (the server is pushing back on a
     * client that reads no replies) is hung up on.
     */
    private void session(Random random) throws IOException {
        try (WireClient c = client().start()) {
            ScheduledFuture<?> hangUp = WATCHDOG.schedule(() -> {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }, SESSION_SECONDS, TimeUnit.SECONDS);
            try {
                hostile(c, random);
            } catch (SocketException closed) {
                // the server dropped us, or the watchdog hung up: that ends a session too
            } finally {
                hangUp.cancel(false);
            }
        }
    }

    private void hostile(WireClient c, Random random) throws IOException {
        c.socket.setSoTimeout(5_000);
        String export = EXPORTS[random.nextInt(EXPORTS.length)];
        boolean structured = random.nextBoolean();
        if (structured) c.structuredReplies();
        if (structured && random.nextBoolean()) {
            c.sendOption(Nbd.OPT_SET_META_CONTEXT, WireClient.metaRequest(export, "base:allocation"));
            while (c.readOptionReply().type() != Nbd.REP_ACK) {
                // the context's reply, then the ACK
            }
        }
        WireClient.Export e = random.nextBoolean() ? c.go(export) : c.go(export, new int[0]);
        // How it leaves: 0, the stream cut anywhere in its requests (up to 4 MiB in) and a hang-up; 1, DISC and its
        // replies read until the server closes; 2 and 3, replies read until none came for a while, then a hang-up.
        int leave = random.nextInt(4);
        long cut = leave == 0 ? random.nextInt(4 << 20) : Long.MAX_VALUE;
        DataOutputStream d = new DataOutputStream(new Cut(new BufferedOutputStream(c.out, 64 * 1024), cut));
        int requests = 1 + random.nextInt(8);
        for (int i = 0; i < requests; i++) request(random, d, e.size(), i);
        if (leave == 1) {
            d.writeInt(Nbd.REQUEST_MAGIC);
            d.writeShort(0);
            d.writeShort(Nbd.CMD_DISC);
            d.write(new byte[20]);
        }
        d.flush();
        if (leave >= 1) drain(c, leave == 1 ? 500 : leave == 2 ? 50 : 5);
    }

    /** One random request into {@code d}: type, flags, offset and length anything, a WRITE's payload whole, cut or missing. */
    private static void request(Random random, DataOutputStream d, long size, int index) throws IOException {
        int type = switch (random.nextInt(20)) {
            case 0 -> random.nextInt(0x10000);
            case 1 -> 8 + random.nextInt(8);
            default -> new int[] {Nbd.CMD_READ, Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE,
                    Nbd.CMD_WRITE_ZEROES, Nbd.CMD_BLOCK_STATUS}[random.nextInt(7)];
        };
        if (type == Nbd.CMD_DISC) type = Nbd.CMD_FLUSH;
        int flags = switch (random.nextInt(6)) {
            case 0 -> random.nextInt(0x10000);
            case 1, 2 -> 1 << random.nextInt(5);
            default -> 0;
        };
        long length = switch (random.nextInt(12)) {
            case 0 -> 0;
            case 1 -> MAX - 1 + random.nextInt(3);
            case 2 -> 0xFFFFFFFFL;
            case 3 -> random.nextInt(1 << 20);
            case 4 -> 1 + random.nextInt(4096);
            default -> 512L * (1 + random.nextInt(256));
        };
        if (length >= MAX - 1 && length <= MAX + 1 && random.nextInt(4) != 0) length = 4096; // keep 32 MiB requests rarer
        long offset = switch (random.nextInt(10)) {
            case 0 -> random.nextLong();
            case 1 -> -512L;
            case 2 -> Math.max(0, size - length + (random.nextInt(3) - 1) * 512L);
            case 3 -> 1 + random.nextInt(size > 1 ? (int) Math.min(size - 1, Integer.MAX_VALUE) : 1);
            default -> 512L * random.nextInt((int) Math.max(1, size / 512));
        };
        d.writeInt(random.nextInt(200) == 0 ? random.nextInt() : Nbd.REQUEST_MAGIC);
        d.writeShort(flags);
        d.writeShort(type);
        d.writeLong(1000L + index);
        d.writeLong(offset);
        d.writeInt((int) length);
        if (type == Nbd.CMD_WRITE) {
            long payload = switch (random.nextInt(6)) {
                case 0 -> 0;
                case 1 -> random.nextInt((int) Math.min(length, 1 << 20) + 1);
                default -> length;
            };
            if (payload > 2 << 20) payload = random.nextInt(3) == 0 ? payload : 64 * 1024 + 7;
            byte[] chunk = new byte[(int) Math.min(payload, 1 << 20)];
            random.nextBytes(chunk);
            for (long at = 0; at < payload; at += chunk.length) d.write(chunk, 0, (int) Math.min(chunk.length, payload - at));
        }
    }

    /** Passes the first {@code limit} bytes on and drops the rest: a stream cut short. */
    private static final class Cut extends FilterOutputStream {
        private long left;

        Cut(OutputStream out, long limit) {
            super(out);
            this.left = limit;
        }

        @Override
        public void write(int b) throws IOException {
            if (left > 0) {
                left--;
                out.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            int n = (int) Math.min(len, left);
            if (n > 0) out.write(b, off, n);
            left -= n;
        }
    }

    /** Reads and drops what the server sends until it closes, or nothing came for {@code quietMillis}. */
    private static void drain(WireClient c, int quietMillis) throws IOException {
        c.socket.setSoTimeout(quietMillis);
        InputStream in = c.socket.getInputStream();
        byte[] sink = new byte[64 * 1024];
        try {
            while (in.read(sink) >= 0) {
                // replies, dropped
            }
        } catch (SocketTimeoutException | SocketException quietOrReset) {
            // done
        }
    }
}
