package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.ddmapper.nbd.internal.Nbd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13: requests of the maximum length (and one byte less and more) at a byte offset, from a
 * client that did not ask for block sizes, so they run on covering blocks larger than the
 * largest pooled buffer. READ, CACHE, WRITE (whole and truncated payloads) and WRITE_ZEROES,
 * a hundred rounds from short-lived clients that read their reply or hang up at once. Afterwards
 * every resource is back: the memory budget is empty, a 32 MiB read is answered at once, the
 * bystander's data is intact, the process's threads and descriptors are back to the baseline
 * within a second, and nothing was logged as a server error.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MaximumLengthRequestsTest extends ServerTestBase {
    static final int MAX = Nbd.MAX_PAYLOAD_BYTES;
    static final int BIG_BYTES = MAX + (1 << 20);
    static final int ROUNDS = 100;
    static final int WORKERS = 4;
    static final int[] TYPES = {Nbd.CMD_READ, Nbd.CMD_CACHE, Nbd.CMD_WRITE, Nbd.CMD_WRITE_ZEROES};

    @Override
    long poolKeepBytes() {
        return 64 << 20; // as the appliance's: room for the one 32 MiB + 64 KiB buffer these requests take
    }

    @BeforeEach
    void bigDeviceAndBystander() throws IOException {
        for (int w = 0; w < WORKERS; w++) devices.add("big" + w, BIG_BYTES, false); // one per worker: each checks its writes
        connectBystander();
        bystander.verify(); // its I/O also starts the device's completion threads before the baseline
    }

    @Test
    void maximumLengthRequestsAtAByteOffsetGiveEveryResourceBack() throws Exception {
        ProcessBaseline baseline = ProcessBaseline.take();
        int logMark = LogRecorder.mark();
        long budget = server.budget().capacityBytes();

        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            int worker = w;
            Thread t = new Thread(() -> {
                try {
                    for (int round = worker; round < ROUNDS; round += WORKERS) {
                        for (int type : TYPES) session("big" + worker, round, type);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "max-length client " + w);
            workers.add(t);
            t.start();
        }
        for (Thread t : workers) t.join(150_000);
        if (failure.get() != null) throw new AssertionError("a session failed", failure.get());

        try (WireClient good = connected("big0", false)) {
            long start = System.nanoTime();
            good.sendRequest(0, Nbd.CMD_READ, 1, 0, MAX);
            assertEquals(new WireClient.SimpleReply(0, 1), good.readSimpleReply(), "a well-behaved 32 MiB read");
            good.readBytes(MAX);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 5_000, "the 32 MiB read is answered at once, took " + millis + " ms");
            good.sendRequest(0, Nbd.CMD_DISC, 2, 0, 0);
            assertTrue(good.closedByServer(5_000));
        }
        bystander.verify();
        await("the whole memory budget back (" + budget + " bytes)", () -> server.budget().usedBytes() == 0);
        assertEquals(0, server.budget().waiting(), "nobody waits for memory");
        baseline.assertRestoredWithin(1_000);
        assertEquals(List.of(), LogRecorder.serverBugsSince(logMark), "no server error logged for a client's request");
    }

    /**
     * One short-lived client: GO without block sizes (byte-granular requests allowed), one request
     * of the maximum length less one, exactly, or plus one, at offset 1; even rounds read the
     * reply, odd rounds hang up at once. WRITEs send their whole payload every fifth round and
     * only its first 64 KiB and a bit otherwise (then hang up).
     */
    private void session(String export, int round, int type) throws IOException {
        int length = MAX + (round % 3) - 1;
        boolean readReply = round % 2 == 0;
        boolean wholePayload = round % 5 == 0;
        try (WireClient c = client().start()) {
            c.go(export, new int[0]);
            long cookie = 1000L * round + type;
            c.sendRequest(0, type, cookie, 1, length);
            if (type == Nbd.CMD_WRITE) {
                int sent = wholePayload ? length : 64 * 1024 + 100;
                byte[] chunk = new byte[1 << 20];
                new Random(round).nextBytes(chunk);
                for (int at = 0; at < sent; at += chunk.length) c.out.write(chunk, 0, Math.min(chunk.length, sent - at));
                c.out.flush();
                if (!wholePayload) return;
            }
            if (!readReply) return;
            WireClient.SimpleReply r = c.readSimpleReply();
            assertEquals(cookie, r.handle());
            if (length > MAX) {
                assertEquals(Nbd.EINVAL, r.error(), Nbd.commandName(type) + " of " + length + " bytes is above the maximum");
                return;
            }
            assertEquals(0, r.error(), Nbd.commandName(type) + " of " + length + " bytes at offset 1");
            if (type == Nbd.CMD_READ) c.readBytes(length);
            if (type == Nbd.CMD_WRITE) {
                c.sendRequest(0, Nbd.CMD_READ, cookie + 1, 1, 4096);
                assertEquals(new WireClient.SimpleReply(0, cookie + 1), c.readSimpleReply());
                byte[] expected = new byte[4096];
                byte[] chunk = new byte[1 << 20];
                new Random(round).nextBytes(chunk);
                System.arraycopy(chunk, 0, expected, 0, 4096);
                assertArrayEquals(expected, c.readBytes(4096), "the WRITE at offset 1 landed");
            }
        }
    }
}
