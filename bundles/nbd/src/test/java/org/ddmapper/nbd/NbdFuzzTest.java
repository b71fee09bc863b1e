package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.nbd.internal.BufferPool;
import org.ddmapper.spi.testkit.MemoryDeviceManager;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.NbdServer;
import org.ddmapper.nbd.internal.ServerLimits;

/**
 * Fuzzes the NBD server through its socket, the entry point every client uses (one server for
 * the whole run, a bystander client connected to its own export throughout):
 * <ul>
 * <li>{@code handshake}: after the greeting, the input is everything the client sends (client
 * flags, options, maybe requests); the server's option replies must be well formed, each error
 * reply carrying UTF-8 text;</li>
 * <li>{@code transmission}: after a correct handshake to export "disk" (structured replies when the
 * input's first byte is odd), the rest of the input is the request stream; every reply must be
 * well formed and answer a cookie the client sent.</li>
 * </ul>
 * The client then closes its side: the server must close within 10 s. After each input the server
 * has logged no error (a caught RuntimeException is a finding, see {@link FuzzLog}), its connection
 * count is back to the bystander's, and the bystander reads back its data, writes and flushes.
 */
class NbdFuzzTest {
    static {
        FuzzLog.install();
    }

    private static final int DISK_BYTES = 1 << 20;
    private static MemoryDeviceManager devices;
    private static NbdServer server;
    private static InetSocketAddress address;
    private static Bystander bystander;

    @FuzzTest
    void handshake(byte[] input) throws Exception {
        start();
        try (WireClient c = new WireClient(address)) {
            c.readGreeting();
            checkOptionReplies(exchange(c, input));
        }
        afterInput();
    }

    @FuzzTest
    void transmission(byte[] input) throws Exception {
        start();
        boolean structured = input.length > 0 && (input[0] & 1) != 0;
        byte[] requests = input.length > 0 ? java.util.Arrays.copyOfRange(input, 1, input.length) : input;
        try (WireClient c = new WireClient(address).start()) {
            if (structured) c.structuredReplies();
            c.go("disk");
            checkReplies(requests, exchange(c, requests), structured);
        }
        afterInput();
    }

    /** Sends the bytes, closes the sending side and reads all the server sends until it closes (at most 10 s). */
    private static byte[] exchange(WireClient c, byte[] bytes) throws IOException {
        try {
            c.out.write(bytes);
            c.out.flush();
            c.socket.shutdownOutput();
        } catch (SocketException e) {
            // the server dropped the connection before reading everything: allowed, what it sent is still read below
        }
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + 10_000_000_000L;
        c.socket.setSoTimeout(1000);
        InputStream in = c.socket.getInputStream();
        byte[] buffer = new byte[64 * 1024];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (SocketTimeoutException e) {
                if (System.nanoTime() > deadline) fail("the server did not close within 10 s after the client's end of stream");
                continue;
            } catch (SocketException e) {
                break; // reset: the server dropped the connection
            }
            if (n < 0) break;
            got.write(buffer, 0, n);
            if (got.size() > 64 << 20) fail("more than 64 MiB of replies to " + bytes.length + " bytes of requests");
        }
        return got.toByteArray();
    }

    /** Option replies until transmission starts (GO acknowledged) or something else follows (EXPORT_NAME's reply). */
    private static void checkOptionReplies(byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.remaining() >= 8 && b.getLong(b.position()) == Nbd.OPTION_REPLY_MAGIC) {
            assertTrue(b.remaining() >= 20, "option reply header cut short");
            b.getLong();
            int option = b.getInt();
            int type = b.getInt();
            int length = b.getInt();
            assertTrue(length >= 0 && length <= b.remaining(), () -> "option reply of " + Integer.toUnsignedString(length)
                    + " bytes with " + b.remaining() + " left");
            byte[] data = new byte[length];
            b.get(data);
            if (type < 0) utf8("error reply to option " + option, data);
            if (option == Nbd.OPT_GO && type == Nbd.REP_ACK) return;
        }
    }

    /** Every reply is well formed and answers a cookie of the requests (as the server should have parsed them). */
    private static void checkReplies(byte[] requests, byte[] out, boolean structured) {
        Map<Long, Integer> readLengths = new HashMap<>();
        Map<Long, Integer> sent = new HashMap<>();
        ByteBuffer r = ByteBuffer.wrap(requests);
        while (r.remaining() >= 28 && r.getInt(r.position()) == Nbd.REQUEST_MAGIC) {
            r.getInt();
            r.getShort();
            int type = r.getShort() & 0xffff;
            long cookie = r.getLong();
            r.getLong();
            int length = r.getInt();
            sent.merge(cookie, 1, Integer::sum);
            if (type == Nbd.CMD_READ) readLengths.put(cookie, length);
            if (type == Nbd.CMD_WRITE) {
                if (Integer.toUnsignedLong(length) > r.remaining()) break;
                r.position(r.position() + length);
            }
            if (type == Nbd.CMD_DISC) break;
        }
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.remaining() > 0) {
            assertTrue(b.remaining() >= 16, "reply header cut short");
            int magic = b.getInt();
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                int error = b.getInt();
                long cookie = b.getLong();
                assertTrue(sent.containsKey(cookie), () -> "simple reply to cookie " + cookie + " that was never sent");
                if (error == 0 && readLengths.containsKey(cookie) && sent.get(cookie) == 1) {
                    int length = readLengths.get(cookie);
                    assertTrue(!structured, "a simple reply carrying READ data in a structured session");
                    assertTrue(Integer.toUnsignedLong(length) <= b.remaining(), "READ data cut short");
                    b.position(b.position() + length);
                } else if (error == 0 && readLengths.containsKey(cookie)) {
                    return; // reads sharing a cookie: which data is whose cannot be told apart
                }
            } else {
                assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic, "reply magic");
                assertTrue(structured, "a structured reply chunk without structured replies negotiated");
                assertTrue(b.remaining() >= 16, "chunk header cut short");
                b.getShort();
                b.getShort();
                long cookie = b.getLong();
                int length = b.getInt();
                assertTrue(sent.containsKey(cookie), () -> "chunk for cookie " + cookie + " that was never sent");
                assertTrue(Integer.toUnsignedLong(length) <= b.remaining(), "chunk payload cut short");
                b.position(b.position() + length);
            }
        }
    }

    private static void utf8(String what, byte[] data) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(data));
        } catch (CharacterCodingException e) {
            fail(what + " is not UTF-8 text");
        }
    }

    /** The server is unharmed: nothing logged as an error, no connection left over, the bystander carries on. */
    private static void afterInput() throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.connectionCount() > 1) {
            if (System.nanoTime() > deadline) fail(server.connectionCount() - 1 + " connections still open 5 s after the client left");
            Thread.sleep(1);
        }
        List<String> errors = FuzzLog.takeErrors();
        assertTrue(errors.isEmpty(), () -> "the server logged errors: " + errors);
        bystander.verify();
    }

    /** The server, its devices and the bystander, made on first use and kept for the JVM's life; the connections allowed. */
    private static synchronized void start() throws IOException {
        // Jazzer's SSRF detector refuses every connection unless the fuzz test says they are meant (it
        // forgets between inputs); the only ones made here go to the loopback server
        BugDetectors.allowNetworkConnections();
        if (server != null) return;
        devices = new MemoryDeviceManager();
        devices.add("disk", DISK_BYTES, false);
        devices.add("ro", 64 * 1024, true);
        devices.add(Bystander.EXPORT, 4 << 20, false);
        server = new NbdServer(devices, ServerLimits.DEFAULTS, new BufferPool(16 << 20));
        address = (InetSocketAddress) server.listenTcp("127.0.0.1", 0).localAddress();
        bystander = new Bystander(address);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                bystander.close();
            } catch (IOException e) {
                // going away anyway
            }
            server.close();
            devices.close();
        }));
    }
}
