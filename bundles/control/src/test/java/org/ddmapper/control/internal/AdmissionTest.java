package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who gets a connection slot: access is decided at accept, so refused peers take none (and at
 * most {@link DdlinkServer#MAX_REFUSING} threads), and read-only peers leave
 * {@link DdlinkServer#RESERVED_FOR_FULL_ACCESS} slots to full-access ones. Every peer of this test
 * is root, so the server's access policy is replaced by a count of accepted connections.
 */
@Timeout(60)
class AdmissionTest {
    @TempDir
    Path dir;
    ServerFixture fixture;
    final List<SeqpacketSocket> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dir, dir.resolve("control.conf"));
        fixture.manager.create("dev", "0 8 zero");
    }

    @AfterEach
    void stop() {
        peers.forEach(SeqpacketSocket::close);
        fixture.close();
    }

    /** The first {@code count} peers accepted get {@code first}, later ones full access. */
    private void firstPeersGet(int count, Access first) {
        AtomicInteger accepted = new AtomicInteger();
        fixture.server.accessPolicy(cred -> accepted.getAndIncrement() < count ? first : Access.FULL);
    }

    private static Item unasked(SeqpacketSocket s) throws Exception {
        Received r = s.receive(Ddlink.MAX_ITEM_BYTES, false);
        return r == null ? null : Item.decode(r.data());
    }

    @Test
    void refusedPeersThatSayNothingTakeNoSlotAndDoNotLockOutAFullAccessPeer() throws Exception {
        int hostile = DdlinkServer.MAX_CONNECTIONS + 44;
        firstPeersGet(hostile + 1, Access.NONE);
        // one refused peer that asks at once gets its request answered EACCES
        try (SeqpacketSocket asking = SeqpacketSocket.connect(fixture.socket)) {
            assertTrue(asking.send(Item.request(Op.LIST, 5, 0, new byte[0]).encode()));
            Item refused = Item.decode(asking.receive(Ddlink.MAX_ITEM_BYTES, true).data());
            assertEquals(Op.LIST.code(), refused.op());
            assertEquals(5, refused.tag());
            assertEquals(-Errno.EACCES.code(), refused.status());
            assertTrue(refused.text().matches("uid 0 \\(pid \\d+\\) is not allowed to use the control socket \\(see "
                    + java.util.regex.Pattern.quote(dir.resolve("control.conf").toString()) + "\\)"), refused.text());
        }
        Map<Integer, String> fdsBefore = Fds.snapshot();
        int threadsBefore = Thread.activeCount();
        for (int i = 0; i < hostile; i++) peers.add(SeqpacketSocket.connect(fixture.socket));
        try (DdlinkClient admin = fixture.client()) {
            assertEquals("dev\t(0:1)\n", new String(admin.callOk(Op.LIST, 0, new byte[0])), "the administrator gets in at once");
            assertEquals(1, fixture.server.connectionCount(), "refused peers hold no connection slot");
            assertTrue(Thread.activeCount() <= threadsBefore + DdlinkServer.MAX_REFUSING + 2,
                    "threads: " + threadsBefore + " before, " + Thread.activeCount() + " with " + hostile + " refused peers open");
        }
        // beyond the refusers' pool, a refused peer is answered at once, unasked, and hung up on
        int answeredAtOnce = 0;
        for (SeqpacketSocket s : peers) {
            Item item = unasked(s);
            if (item == null) continue;
            answeredAtOnce++;
            assertEquals(0, item.op());
            assertEquals(0, item.tag());
            assertEquals(-Errno.EACCES.code(), item.status());
            assertTrue(item.text().contains(" is not allowed to use the control socket "), item.text());
        }
        assertTrue(answeredAtOnce >= hostile - DdlinkServer.MAX_REFUSING, answeredAtOnce + " of " + hostile + " answered at once");
        // the ones in the pool are hung up on once their time to ask is over (all within the wait plus room for a busy machine)
        long deadline = System.currentTimeMillis() + Refusal.WAIT_MILLIS + 10_000;
        for (SeqpacketSocket s : peers) {
            assertThrows(EOFException.class, () -> {
                while (System.currentTimeMillis() < deadline) {
                    Fds.poll(new int[] {s.fd()}, new short[] {Fds.POLLIN}, (int) Math.max(1, deadline - System.currentTimeMillis()));
                    Item item = unasked(s);
                    assertTrue(item == null || item.status() == -Errno.EACCES.code());
                }
            }, "a refused peer is hung up on");
        }
        peers.forEach(SeqpacketSocket::close);
        peers.clear();
        assertEquals(Map.of(), Fds.openedSince(fdsBefore), "descriptors left open by refused peers");
    }

    @Test
    void readOnlyPeersLeaveTheReservedSlotsToFullAccessPeers() throws Exception {
        int readOnlySlots = DdlinkServer.MAX_CONNECTIONS - DdlinkServer.RESERVED_FOR_FULL_ACCESS;
        firstPeersGet(readOnlySlots + 5, Access.READ_ONLY);
        for (int i = 0; i < readOnlySlots + 5; i++) peers.add(SeqpacketSocket.connect(fixture.socket));
        try (DdlinkClient admin = fixture.client()) {
            assertEquals("dev\t(0:1)\n", new String(admin.callOk(Op.LIST, 0, new byte[0])), "a full-access peer still gets in");
            assertEquals(readOnlySlots + 1, fixture.server.connectionCount());
            for (SeqpacketSocket s : peers.subList(readOnlySlots, peers.size())) {
                Item busy = unasked(s);
                assertNotNull(busy, "a read-only peer beyond its slots is answered at once");
                assertEquals(-Errno.EAGAIN.code(), busy.status());
                assertEquals("the control server is busy: " + readOnlySlots + " connections and links are open (the other "
                        + DdlinkServer.RESERVED_FOR_FULL_ACCESS + " are kept for full-access peers)", busy.text());
            }
            // a read-only peer may not open a link into the reserve either; the administrator may
            SeqpacketSocket readOnly = peers.get(0);
            assertTrue(readOnly.send(Item.request(Op.LINK, 3, 0, PayloadWriter.of("dev")).encode()));
            Item link = Item.decode(readOnly.receive(Ddlink.MAX_ITEM_BYTES, true).data());
            assertEquals(-Errno.EAGAIN.code(), link.status(), link.text());
            assertEquals("too many connections and links open (at most " + readOnlySlots + " for a read-only peer)", link.text());
            try (DdlinkClient adminLink = admin.link("dev")) {
                assertEquals(readOnlySlots + 2, fixture.server.connectionCount());
            }
        }
    }
}
