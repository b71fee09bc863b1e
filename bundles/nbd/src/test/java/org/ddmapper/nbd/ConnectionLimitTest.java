package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The connection caps: the whole server's and one client address's. A connection over a cap
 * gets the greeting and an option error saying why, then is closed; a freed slot lets the next
 * one in; the connections already open are not disturbed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectionLimitTest extends ServerTestBase {
    static final int CAP = 3;
    static final int PER_PEER = 2;

    private final List<WireClient> open = new ArrayList<>();

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withConnections(CAP, CAP).withConnectionsPerPeer(PER_PEER);
    }

    @AfterEach
    void closeClients() throws IOException {
        for (WireClient c : open) c.close();
    }

    private static InetAddress loopback(int last) throws IOException {
        return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
    }

    /** An established session, past GO, that then sits idle. */
    private WireClient idleSession(int from) throws IOException {
        WireClient c = new WireClient(address, loopback(from)).start();
        c.go("disk");
        open.add(c);
        return c;
    }

    /** A connection over a cap: greeting, then NBD_REP_ERR_POLICY with the reason for GO, then closed. */
    private String refusal(int from) throws IOException {
        try (WireClient c = new WireClient(address, loopback(from)).start()) {
            c.sendOption(Nbd.OPT_GO, WireClient.infoRequest("disk", Nbd.INFO_BLOCK_SIZE));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_POLICY, r.type(), r.text());
            c.sendOption(Nbd.OPT_ABORT, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type(), "ABORT is acknowledged");
            assertTrue(c.closedByServer(5000), "the refused connection is closed");
            return r.text();
        }
    }

    /** Verified I/O on an open session. */
    private static void io(WireClient c, long handle) throws IOException {
        byte[] data = new byte[4096];
        new Random(handle).nextBytes(data);
        c.write(handle, handle * 4096, data);
        assertEquals(new WireClient.SimpleReply(0, handle), c.readSimpleReply());
        c.sendRequest(0, Nbd.CMD_READ, handle + 1, handle * 4096, data.length);
        assertEquals(new WireClient.SimpleReply(0, handle + 1), c.readSimpleReply());
        assertArrayEquals(data, c.readBytes(data.length));
    }

    @Test
    void theConnectionOverTheCapIsToldWhyAndAFreedSlotLetsTheNextOneIn() throws Exception {
        WireClient first = idleSession(1);
        idleSession(2);
        idleSession(3);
        String text = refusal(4);
        assertTrue(text.contains("3 connections open, its limit"), text);
        assertEquals(CAP, server.connectionCount());
        io(first, 10);

        first.close();
        open.remove(first);
        await("the closed session's slot to be freed", () -> server.connectionCount() == CAP - 1);
        WireClient next = idleSession(4);
        io(next, 20);
        for (WireClient c : open) io(c, 30);
    }

    @Test
    void oneClientAddressCannotTakeEverySlot() throws Exception {
        WireClient a = idleSession(1);
        idleSession(1);
        String text = refusal(1);
        assertTrue(text.contains("client address (127.0.0.1) has 2 connections open"), text);
        WireClient other = idleSession(2);
        io(other, 40);
        io(a, 50);

        a.close();
        open.remove(a);
        await("the closed session's slot to be freed", () -> server.connectionCount() == CAP - 1);
        io(idleSession(1), 60);
    }
}
