package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Random;
import org.ddmapper.nbd.internal.BufferPool;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.NbdServer;
import org.ddmapper.nbd.internal.ServerLimits;
import org.ddmapper.nbd.internal.ServerTls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.ddmapper.spi.testkit.MemoryDeviceManager;

/** A server on a free loopback port over an in-memory device manager with "disk" (16 MiB) and "ro" (1 MiB, read-only). */
abstract class ServerTestBase {
    static final int DISK_BYTES = 16 << 20;
    static final int RO_BYTES = 1 << 20;

    MemoryDeviceManager devices;
    NbdServer server;
    InetSocketAddress address;
    /** A client connected before each test's hostile action (null when a test class has none). */
    Bystander bystander;
    private int goodClientRuns;

    ServerLimits limits() {
        return ServerLimits.DEFAULTS;
    }

    /** The server's TLS setting (none unless a test class says otherwise). */
    ServerTls tls() {
        return ServerTls.OFF;
    }

    /** Free buffers the server's pool keeps (the appliance's shared pool keeps 64 MiB). */
    long poolKeepBytes() {
        return 16 << 20;
    }

    @BeforeEach
    void startServer() throws IOException {
        devices = new MemoryDeviceManager();
        devices.add("disk", DISK_BYTES, false);
        devices.add("ro", RO_BYTES, true);
        server = new NbdServer(devices, limits(), new BufferPool(poolKeepBytes()), tls());
        NbdServer.Listener l = server.listenTcp("127.0.0.1", 0);
        address = (InetSocketAddress) l.localAddress();
    }

    /** Replaces the server by one with other limits (over the same devices); a bystander reconnects. */
    void restartServer(ServerLimits limits) throws IOException {
        boolean hadBystander = bystander != null;
        if (hadBystander) bystander.close();
        bystander = null;
        server.close();
        server = new NbdServer(devices, limits, new BufferPool(poolKeepBytes()), tls());
        address = (InetSocketAddress) server.listenTcp("127.0.0.1", 0).localAddress();
        if (hadBystander) bystander = new Bystander(address);
    }

    /** Connects a {@link Bystander} to its own export, for tests that check it was not disturbed. */
    void connectBystander() throws IOException {
        devices.add(Bystander.EXPORT, 4 << 20, false);
        bystander = new Bystander(address);
    }

    /** Open connections besides the bystander's. */
    int connectionsBesidesBystander() {
        return server.connectionCount() - (bystander != null ? 1 : 0);
    }

    @AfterEach
    void stopServer() throws IOException {
        if (bystander != null) bystander.close();
        bystander = null;
        server.close();
        devices.close();
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} after 15 s (room for a busy machine). */
    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError("timed out after 15 s waiting for " + what);
            Thread.sleep(10);
        }
    }

    WireClient client() throws IOException {
        return new WireClient(address);
    }

    /** A client past GO on an export, optionally with structured replies. */
    WireClient connected(String export, boolean structured) throws IOException {
        WireClient c = client().start();
        if (structured) c.structuredReplies();
        c.go(export);
        return c;
    }

    /**
     * The invariant of every hostile-client test: the bystander connected before the hostile
     * client acted (when there is one) carries on undisturbed, and a new, well-behaved client
     * gets served — it negotiates, writes a block, reads it back and sees its own bytes.
     */
    void assertGoodClientServed() throws IOException {
        if (bystander != null) bystander.verify();
        try (WireClient c = connected("disk", false)) {
            byte[] data = new byte[4096];
            new Random(++goodClientRuns).nextBytes(data);
            long offset = 4096L * (100 + goodClientRuns);
            c.write(7, offset, data);
            WireClient.SimpleReply w = c.readSimpleReply();
            assertEquals(0, w.error(), "good client's write");
            c.sendRequest(0, Nbd.CMD_READ, 8, offset, data.length);
            WireClient.SimpleReply r = c.readSimpleReply();
            assertEquals(0, r.error(), "good client's read");
            assertEquals(8, r.handle());
            assertArrayEquals(data, c.readBytes(data.length), "good client reads back its own data");
            c.sendRequest(0, Nbd.CMD_DISC, 9, 0, 0);
        }
    }
}
