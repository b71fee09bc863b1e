package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every op over the real socket, against the in-memory device manager. */
@Timeout(30)
class OpsTest {
    @TempDir
    Path dir;
    ServerFixture fixture;
    DdlinkClient client;

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dir);
        client = fixture.client();
    }

    @AfterEach
    void stop() {
        client.close();
        fixture.close();
    }

    private String text(Op op, int target, String payload) throws Exception {
        return new String(client.callOk(op, target, PayloadWriter.of(payload)), java.nio.charset.StandardCharsets.UTF_8);
    }

    private Item call(Op op, int target, byte[] payload) throws Exception {
        return client.call(op, target, payload);
    }

    private static byte[] two(String a, String b) {
        return new PayloadWriter().text(a).nul().text(b).toBytes();
    }

    @Test
    void socketIsCreatedOwnerOnly() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fixture.socket)));
        assertEquals(0, Files.list(fixture.socket.getParent()).filter(p -> p.getFileName().toString().endsWith(".tmp")).count());
    }

    @Test
    void versionAdvertisesProtocolMaxItemAndFds() throws Exception {
        Item reply = call(Op.VERSION, 0, new byte[0]);
        assertEquals(0, reply.status());
        assertEquals(Op.VERSION.code(), reply.op());
        PayloadReader p = new PayloadReader(Op.VERSION, reply.payload());
        assertEquals(Ddlink.PROTOCOL, p.u32("protocol"));
        assertEquals(Ddlink.MAX_ITEM_BYTES, p.u32("max item"));
        assertEquals(Ddlink.MAX_FDS, p.u32("max fds"));
        assertEquals(0, p.u32("reserved"));
        assertTrue(p.text("text").startsWith("Library version:   ddmapper-api"));
    }

    @Test
    void createLoadResumeStatusTableInfoLsDepsTargets() throws Exception {
        assertEquals("No devices found\n", text(Op.LIST, 0, ""));
        assertEquals(0, call(Op.CREATE, 0, PayloadWriter.of("a")).status());
        assertEquals(0, call(Op.CREATE, 0, two("b", "0 100 zero")).status());
        assertEquals("a\t(0:1)\nb\t(0:2)\n", text(Op.LIST, 0, ""));
        assertEquals("\n", text(Op.STATUS, 0, "a"), "no live table: an empty line, as dmsetup prints");
        assertEquals("0 100 zero \n", text(Op.TABLE, 0, "b"));

        assertEquals(0, call(Op.LOAD, 0, two("a", "0 50 echo /dev/x\n50 50 zero")).status());
        assertEquals("\n", text(Op.TABLE, 0, "a"));
        assertEquals("0 50 echo /dev/x\n50 50 zero \n", text(Op.TABLE, Ddlink.FLAG_INACTIVE, "a"));
        assertTrue(text(Op.INFO, 0, "a").contains("Tables present:    INACTIVE\n"));
        assertEquals(0, call(Op.RESUME, 0, PayloadWriter.of("a")).status());
        assertEquals("0 50 echo messages 0\n50 50 zero \n", text(Op.STATUS, 0, "a"));
        assertEquals("a: 0 50 echo messages 0\na: 50 50 zero \nb: 0 100 zero \n", text(Op.STATUS, 0, ""));
        assertEquals("a: 0 50 echo /dev/x\na: 50 50 zero \nb: 0 100 zero \n", text(Op.TABLE, 0, ""));
        assertEquals("1 dependencies\t: (/dev/x)\n", text(Op.DEPS, 0, "a"));
        assertEquals("""
                Name:              a
                State:             ACTIVE
                Read Ahead:        256
                Tables present:    LIVE
                Open count:        0
                Event number:      3
                Major, minor:      0, 1
                Number of targets: 2

                """, text(Op.INFO, 0, "a"));
        assertTrue(text(Op.INFO, 0, "").contains("Name:              a\n"));
        assertTrue(text(Op.INFO, 0, "").contains("\n\nName:              b\n"));
        assertEquals("echo             v1.0.0\nerror            v1.7.0\nzero             v1.2.0\n", text(Op.TARGETS, 0, ""));
    }

    @Test
    void suspendNoflushResumeClearRenameRemove() throws Exception {
        call(Op.CREATE, 0, two("a", "0 8 zero"));
        assertEquals(0, call(Op.SUSPEND, Ddlink.FLAG_NOFLUSH, PayloadWriter.of("a")).status());
        assertTrue(text(Op.INFO, 0, "a").contains("State:             SUSPENDED\n"));
        String events = new String(client.callOk(Op.EVENTS, 0, new PayloadWriter().u64(0).text("a").toBytes()));
        assertTrue(events.contains("a 3 suspended held=0 noflush=true\n"), events);
        assertEquals(0, call(Op.RESUME, 0, PayloadWriter.of("a")).status());
        call(Op.LOAD, 0, two("a", "0 8 error"));
        assertEquals(0, call(Op.CLEAR, 0, PayloadWriter.of("a")).status());
        assertEquals("\n", text(Op.TABLE, Ddlink.FLAG_INACTIVE, "a"));
        assertEquals(0, call(Op.RENAME, 0, two("a", "c")).status());
        assertEquals("c\t(0:1)\n", text(Op.LIST, 0, ""));
        fixture.manager.setOpenCount("c", 1);
        Item busy = call(Op.REMOVE, 0, PayloadWriter.of("c"));
        assertEquals(-Errno.EBUSY.code(), busy.status());
        assertEquals("device 'c' is open 1 times; use force to remove it", busy.text());
        assertEquals(0, call(Op.REMOVE, Ddlink.FLAG_FORCE, PayloadWriter.of("c")).status());
        assertEquals("No devices found\n", text(Op.LIST, 0, ""));
    }

    @Test
    void errorsComeBackAsErrnoAndSentence() throws Exception {
        Item missing = call(Op.STATUS, 0, PayloadWriter.of("nosuch"));
        assertEquals(Op.STATUS.code(), missing.op());
        assertEquals(-Errno.ENXIO.code(), missing.status());
        assertEquals("no device named 'nosuch'", missing.text());
        call(Op.CREATE, 0, PayloadWriter.of("a"));
        Item exists = call(Op.CREATE, 0, PayloadWriter.of("a"));
        assertEquals(-Errno.EBUSY.code(), exists.status(), "as the kernel answers a name in use");
        assertEquals("device 'a' already exists", exists.text());
        Item badTable = call(Op.LOAD, 0, two("a", "0 10 zero\n20 10 zero"));
        assertEquals(-Errno.EINVAL.code(), badTable.status());
        assertEquals("gap in table at sector 10", badTable.text());
    }

    @Test
    void messageByIndexAndBySectorWithTextAndBinary() throws Exception {
        call(Op.CREATE, 0, two("m", "0 10 zero\n10 10 echo"));
        byte[] byIndex = new PayloadWriter().u64(0).text("m").nul().text("hello  world").nul().bytes(new byte[] {0, 1, 2}).toBytes();
        Item r = call(Op.MESSAGE, 1, byIndex);
        assertEquals(0, r.status(), r.text());
        assertEquals("target 1 got hello world binary 3 fds 0 tag " + r.tag(), r.text());
        byte[] bySector = new PayloadWriter().u64(15).text("m").nul().text("ping").toBytes();
        r = call(Op.MESSAGE, Ddlink.TARGET_BY_SECTOR, bySector);
        assertEquals("target 1 got ping binary 0 fds 0 tag " + r.tag(), r.text());
        r = call(Op.MESSAGE, Ddlink.TARGET_BY_SECTOR, new PayloadWriter().u64(5).text("m").nul().text("ping").toBytes());
        assertEquals(-Errno.EINVAL.code(), r.status());
        assertEquals("zero: target takes no messages", r.text());
        r = call(Op.MESSAGE, 7, new PayloadWriter().u64(0).text("m").nul().text("ping").toBytes());
        assertEquals("no target @7 in 'm' (it has 2)", r.text());
    }

    @Test
    void waitReturnsAtOnceWhenPassedAndBlocksUntilAnEvent() throws Exception {
        call(Op.CREATE, 0, PayloadWriter.of("w"));
        Item now = call(Op.WAIT, 0, new PayloadWriter().u64(0).u32(Ddlink.WAIT_FOREVER).u32(0).text("w").toBytes());
        assertEquals(1, new PayloadReader(Op.WAIT, now.payload()).u64("nr"));
        Item timedOut = call(Op.WAIT, 0, new PayloadWriter().u64(1).u32(50).u32(0).text("w").toBytes());
        assertEquals(0, timedOut.status());
        assertEquals(1, new PayloadReader(Op.WAIT, timedOut.payload()).u64("nr"));

        CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> {
            try (DdlinkClient other = fixture.client()) {
                Item item = other.call(Op.WAIT, 0, new PayloadWriter().u64(1).u32(Ddlink.WAIT_FOREVER).u32(0).text("w").toBytes());
                return new PayloadReader(Op.WAIT, item.payload()).u64("nr");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(waited.isDone());
        // the connection that waits is not blocked for other clients, nor is this one
        assertEquals(0, call(Op.SUSPEND, 0, PayloadWriter.of("w")).status());
        assertEquals(2L, waited.get(5, TimeUnit.SECONDS));
    }

    @Test
    void waitsPipelineOnOneConnectionAndRepliesCarryTheirTags() throws Exception {
        call(Op.CREATE, 0, PayloadWriter.of("p"));
        var socket = client.socket();
        socket.send(Item.request(Op.WAIT, 100, 0, new PayloadWriter().u64(1).u32(Ddlink.WAIT_FOREVER).u32(0).text("p").toBytes()).encode());
        socket.send(Item.request(Op.LIST, 101, 0, new byte[0]).encode());
        Item first = Item.decode(socket.receive(Ddlink.MAX_ITEM_BYTES, true).data());
        assertEquals(101, first.tag());
        assertEquals("p\t(0:1)\n", first.text());
        socket.send(Item.request(Op.SUSPEND, 102, 0, PayloadWriter.of("p")).encode());
        Item a = Item.decode(socket.receive(Ddlink.MAX_ITEM_BYTES, true).data());
        Item b = Item.decode(socket.receive(Ddlink.MAX_ITEM_BYTES, true).data());
        assertEquals(java.util.Set.of(100, 102), java.util.Set.of(a.tag(), b.tag()));
    }

    @Test
    void closingAConnectionCancelsItsWaits() throws Exception {
        call(Op.CREATE, 0, PayloadWriter.of("x"));
        DdlinkClient other = fixture.client();
        other.socket().send(Item.request(Op.WAIT, 1, 0, new PayloadWriter().u64(5).u32(Ddlink.WAIT_FOREVER).u32(0).text("x").toBytes()).encode());
        long accepted = System.currentTimeMillis() + 5000; // the server accepts on its own thread
        while (fixture.server.connectionCount() != 2 && System.currentTimeMillis() < accepted) Thread.sleep(10);
        assertEquals(2, fixture.server.connectionCount());
        other.close();
        long deadline = System.currentTimeMillis() + 5000;
        while (fixture.server.connectionCount() != 1 && System.currentTimeMillis() < deadline) Thread.sleep(10);
        assertEquals(1, fixture.server.connectionCount());
    }

    @Test
    void aSecondServerOnTheSameSocketRefusesAndAStaleSocketIsReplaced() throws Exception {
        DdlinkServer second = new DdlinkServer(fixture.manager, fixture.socket, null, "v");
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, second::start);
        assertTrue(e.getMessage().contains("address already in use"), e.getMessage());
        assertEquals(0, call(Op.LIST, 0, new byte[0]).status());
    }
}
