package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 25 on the real appliance: clients keep writes in flight while it gets SIGTERM, or while
 * their device is removed. Every request they sent gets exactly one reply — its result when it
 * finished within the grace period, {@code NBD_ESHUTDOWN} otherwise (a write held by a suspended
 * device, a write whose payload was only partly sent, writes sent while the server stopped) — all
 * within the grace period plus 100 ms of the moment the NBD server began to stop (its log line);
 * then the connections close and the appliance exits 0.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NbdStopTest {
    static final int ESHUTDOWN = 108;
    static final long GRACE_MILLIS = 2_000;
    static final int BLOCK = 64 * 1024;
    static final Pattern STOPPING = Pattern.compile(
            "^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*nbd: stopping: ", Pattern.MULTILINE);

    @TempDir
    Path dir;

    /** The shipped etc with the NBD stop grace period set to {@value #GRACE_MILLIS} ms. */
    private Path etc() throws IOException {
        Path etc = dir.resolve("etc");
        Path shipped = Appliance.distribution().resolve("etc");
        try (Stream<Path> files = Files.walk(shipped)) {
            for (Path source : files.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(source, etc.resolve(shipped.relativize(source).toString()));
            }
        }
        Files.writeString(etc.resolve("config.properties"), "\nddmapper.nbd.stop.grace.ms = " + GRACE_MILLIS + "\n",
                StandardOpenOption.APPEND);
        return etc;
    }

    private static void create(Appliance app, String name, Path backing) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(64 << 20);
        }
        Appliance.Exit created = app.ddsetup("create", name, "--table", "0 131072 linear " + backing + " 0");
        assertEquals(0, created.code(), created.toString());
    }

    /**
     * A client keeping {@code depth} 64 KiB writes in flight on its own thread: each successful
     * reply sends the next write; after the first error it sends nothing more. Records when each
     * reply came, by handle.
     */
    static final class Writer extends Thread {
        final RawNbd c;
        final int depth;
        final Map<Long, Long> sentAt = new ConcurrentHashMap<>();
        final Map<Long, int[]> replies = new ConcurrentHashMap<>(); // handle -> {error}
        final Map<Long, Long> repliedAt = new ConcurrentHashMap<>();
        volatile boolean closedByServer;
        volatile Throwable failure;
        private long next = 1;
        private boolean stopSending;

        Writer(RawNbd c, int depth) {
            super("writer");
            this.c = c;
            this.depth = depth;
            setDaemon(true);
        }

        private void sendOne() throws IOException {
            long h = next++;
            sentAt.put(h, System.currentTimeMillis());
            c.send(RawNbd.CMD_WRITE, h, (h % 512) * BLOCK, BLOCK, new byte[BLOCK]);
        }

        @Override
        public void run() {
            try {
                for (int i = 0; i < depth; i++) sendOne();
                for (;;) {
                    int magic;
                    try {
                        magic = c.in.readInt();
                    } catch (java.io.EOFException e) {
                        closedByServer = true;
                        return;
                    }
                    assertEquals(0x67446698, magic);
                    int error = c.in.readInt();
                    long handle = c.in.readLong();
                    repliedAt.put(handle, System.currentTimeMillis());
                    if (replies.putIfAbsent(handle, new int[] {error}) != null) throw new AssertionError("two replies for " + handle);
                    if (error != 0) stopSending = true;
                    if (!stopSending) sendOne();
                }
            } catch (Throwable e) {
                failure = e;
            }
        }
    }

    /** The moment (epoch ms) the NBD server logged that it began to stop. */
    private static long stopBegan(Appliance app) throws IOException {
        Matcher m = STOPPING.matcher(Files.readString(app.log()));
        assertTrue(m.find(), "the NBD server logs when it begins to stop");
        return LocalDateTime.parse(m.group(1), DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS"))
                .atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
    }

    @Test
    void sigtermAnswersEveryOutstandingRequestWithinTheGracePeriodAndExitsZero() throws Exception {
        try (Appliance app = Appliance.start(dir.resolve("home"), "--etc", etc().toString())) {
            create(app, "busy", dir.resolve("busy.img"));
            create(app, "held", dir.resolve("held.img"));
            Writer busy = new Writer(RawNbd.go(app.nbdAddress(), "busy", false), 16);
            RawNbd held = RawNbd.go(app.nbdAddress(), "held", false);
            RawNbd partial = RawNbd.go(app.nbdAddress(), "busy", false);
            assertEquals(0, app.ddsetup("suspend", "held").code());
            for (long h = 1; h <= 4; h++) held.send(RawNbd.CMD_WRITE, h, h * BLOCK, BLOCK, new byte[BLOCK]);
            partial.send(RawNbd.CMD_WRITE, 1, 0, 2 * BLOCK, new byte[1000]); // a payload only partly sent
            busy.start();
            Thread.sleep(500); // writes flowing
            assertTrue(busy.replies.size() > 16, "writes complete before the stop: " + busy.replies.size());

            Appliance.Exit exit = app.stop(); // SIGTERM; asserts exit 0
            assertEquals(0, exit.code(), exit.toString());
            busy.join(10_000);
            if (busy.failure != null) throw new AssertionError("the writer failed", busy.failure);
            long deadline = stopBegan(app) + GRACE_MILLIS + 100;

            assertEquals(busy.sentAt.keySet(), busy.replies.keySet(), "every write sent got a reply");
            assertTrue(busy.closedByServer, "then the server closed the connection");
            long shutdowns = busy.replies.values().stream().filter(e -> e[0] == ESHUTDOWN).count();
            assertTrue(shutdowns > 0, "writes sent while the server stopped are answered ESHUTDOWN");
            assertTrue(busy.replies.values().stream().allMatch(e -> e[0] == 0 || e[0] == ESHUTDOWN), "only results or ESHUTDOWN");
            long last = busy.repliedAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(last <= deadline, "the last reply came " + (last - deadline) + " ms after the grace period + 100 ms");

            Map<Long, Integer> heldReplies = new TreeMap<>();
            for (int i = 0; i < 4; i++) {
                assertEquals(0x67446698, held.in.readInt());
                int error = held.in.readInt();
                heldReplies.put(held.in.readLong(), error);
            }
            assertEquals(Map.of(1L, ESHUTDOWN, 2L, ESHUTDOWN, 3L, ESHUTDOWN, 4L, ESHUTDOWN), heldReplies,
                    "writes held by a suspended device: ESHUTDOWN");
            assertEquals(-1, held.in.read(), "then the connection closed");

            assertEquals(0x67446698, partial.in.readInt());
            assertEquals(ESHUTDOWN, partial.in.readInt(), "the write whose payload was only partly sent");
            assertEquals(1, partial.in.readLong());
            assertEquals(-1, partial.in.read(), "then the connection closed");
            busy.c.socket.close();
            held.socket.close();
            partial.socket.close();
        }
    }

    @Test
    void removingADeviceAnswersItsClientsWritesWithinTheGracePeriod() throws Exception {
        try (Appliance app = Appliance.start(dir.resolve("home"), "--etc", etc().toString())) {
            create(app, "gone", dir.resolve("gone.img"));
            Writer writer = new Writer(RawNbd.go(app.nbdAddress(), "gone", false), 16);
            writer.start();
            Thread.sleep(500);
            assertTrue(writer.replies.size() > 16, "writes complete before the removal: " + writer.replies.size());
            // the API's forced removal (ddlink REMOVE with FORCE): ddsetup remove --force follows dmsetup
            // instead (the table becomes error and the device stays while a client holds it open)
            try (DdlinkClient control = DdlinkClient.connect(app.controlSocket())) {
                control.callOk(Op.REMOVE, Ddlink.FLAG_FORCE, PayloadWriter.of("gone"));
            }
            long removed = System.currentTimeMillis(); // the removal (and the grace period) began before the call returned
            assertTrue(app.ddsetup("info", "gone").stderr().contains("no device named 'gone'"), "the device is gone");
            writer.join(15_000);
            if (writer.failure != null) throw new AssertionError("the writer failed", writer.failure);
            assertEquals(writer.sentAt.keySet(), writer.replies.keySet(), "every write sent got a reply");
            assertTrue(writer.closedByServer, "the connection closed once idle");
            assertTrue(writer.replies.values().stream().anyMatch(e -> e[0] == ESHUTDOWN), "writes after the removal: ESHUTDOWN");
            assertTrue(writer.replies.values().stream().allMatch(e -> e[0] == 0 || e[0] == ESHUTDOWN), "only results or ESHUTDOWN");
            long last = writer.repliedAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(last - removed <= GRACE_MILLIS + 100, "the last reply came " + (last - removed) + " ms after the removal");
            writer.c.socket.close();
            assertEquals(0, app.stop().code());
        }
    }
}
