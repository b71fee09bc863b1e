package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.ddmapper.control.unix.TestFds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile items: each gets one error reply naming what was wrong, changes no device, closes
 * every descriptor it carried, and leaves the connection usable.
 */
@Timeout(120)
class NegativeItemsTest {
    @TempDir
    Path dir;
    ServerFixture fixture;
    SeqpacketSocket socket;
    int pipeRead;
    int pipeWrite;
    int readOnlyFile;
    int readWriteFile;
    int datagram;
    int listening;
    int unconnected;
    int[] stream;

    /** One bad item, what it carries, and the reply it must get. */
    record Bad(String what, byte[] item, int[] fds, Errno errno, String sentence) {}

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dir);
        socket = SeqpacketSocket.connect(fixture.socket);
        socket.setSendBufferBytes(1 << 20);
        try (DdlinkClient c = fixture.client()) {
            c.callOk(Op.CREATE, 0, new PayloadWriter().text("dev").nul().text("0 10 zero\n10 10 echo").toBytes());
        }
        int[] p = TestFds.pipe();
        pipeRead = p[0];
        pipeWrite = p[1];
        Path file = Files.writeString(dir.resolve("file"), "data");
        readOnlyFile = TestFds.open(file, false);
        readWriteFile = TestFds.open(file, true);
        datagram = TestFds.datagramSocket();
        listening = TestFds.listeningSocket();
        unconnected = TestFds.unconnectedStreamSocket();
        stream = TestFds.streamPair();
    }

    @AfterEach
    void stop() {
        socket.close();
        for (int fd : new int[] {pipeRead, pipeWrite, readOnlyFile, readWriteFile, datagram, listening, unconnected, stream[0], stream[1]}) Fds.close(fd);
        fixture.close();
    }

    private static byte[] raw(int op, int tag, int target, int lengthField, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putInt(op).putInt(tag).putInt(target).putInt(lengthField).put(payload).array();
    }

    private static byte[] item(Op op, int target, byte[] payload) {
        return Item.request(op, 7, target, payload).encode();
    }

    private static byte[] msg(String name, String text) {
        return new PayloadWriter().u64(0).text(name).nul().text(text).toBytes();
    }

    List<Bad> corpus() {
        List<Bad> bad = new ArrayList<>();
        bad.add(new Bad("empty item", new byte[0], null, Errno.EPROTO, "item of 0 bytes is shorter than the 16-byte header"));
        bad.add(new Bad("7 bytes", new byte[] {1, 0, 0, 0, 9, 0, 0}, null, Errno.EPROTO, "item of 7 bytes is shorter than the 16-byte header"));
        bad.add(new Bad("15 bytes", new byte[15], null, Errno.EPROTO, "item of 15 bytes is shorter than the 16-byte header"));
        bad.add(new Bad("length larger than the item", raw(2, 7, 0, 100, new byte[20]), null, Errno.EPROTO,
                "length field says 100 payload bytes but the item carries 20"));
        bad.add(new Bad("length 0xFFFFFFFF", raw(2, 7, 0, -1, new byte[4]), null, Errno.EPROTO,
                "length field says 4294967295 payload bytes but the item carries 4"));
        bad.add(new Bad("length smaller than the item", raw(2, 7, 0, 1, new byte[8]), null, Errno.EPROTO,
                "length field says 1 payload bytes but the item carries 8"));
        bad.add(new Bad("op 0", raw(0, 7, 0, 0, new byte[0]), null, Errno.EOPNOTSUPP, "unknown op 0"));
        bad.add(new Bad("op 999", raw(999, 7, 0, 0, new byte[0]), null, Errno.EOPNOTSUPP, "unknown op 999"));
        bad.add(new Bad("op EVENT from a client", raw(64, 7, 0, 0, new byte[0]), null, Errno.EOPNOTSUPP, "unknown op 64"));
        bad.add(new Bad("op 0xFFFFFFFF", raw(-1, 7, 0, 0, new byte[0]), null, Errno.EOPNOTSUPP, "unknown op 4294967295"));
        bad.add(new Bad("oversized", raw(2, 7, 0, Ddlink.MAX_ITEM_BYTES, new byte[Ddlink.MAX_ITEM_BYTES - 15]), null, Errno.EMSGSIZE,
                "item of " + (Ddlink.MAX_ITEM_BYTES + 1) + " bytes is larger than the " + Ddlink.MAX_ITEM_BYTES + "-byte maximum"));
        bad.add(new Bad("unknown flag", item(Op.SUSPEND, 6, PayloadWriter.of("dev")), null, Errno.EINVAL,
                "SUSPEND: unknown flag bits 0x6 in the target field"));
        bad.add(new Bad("flag on an op without flags", item(Op.RESUME, 1, PayloadWriter.of("dev")), null, Errno.EINVAL,
                "RESUME: unknown flag bits 0x1 in the target field"));
        bad.add(new Bad("invalid UTF-8 name", item(Op.SUSPEND, 0, new byte[] {'d', (byte) 0xC3, (byte) 0x28}), null, Errno.EINVAL,
                "SUSPEND: device name is not valid UTF-8"));
        bad.add(new Bad("control character in a name", item(Op.REMOVE, 0, PayloadWriter.of("de\nv")), null, Errno.EINVAL,
                "REMOVE: device name contains control character 0xa"));
        bad.add(new Bad("name too long", item(Op.REMOVE, 0, PayloadWriter.of("x".repeat(200))), null, Errno.EINVAL,
                "REMOVE: device name is 200 bytes long; at most 127 are allowed"));
        bad.add(new Bad("missing name", item(Op.SUSPEND, 0, new byte[0]), null, Errno.EINVAL, "SUSPEND: missing device name"));
        bad.add(new Bad("trailing bytes", item(Op.REMOVE, 0, new PayloadWriter().text("dev").nul().text("junk").toBytes()), null,
                Errno.EINVAL, "REMOVE: 4 unexpected bytes at the end of the payload"));
        bad.add(new Bad("payload on LIST", item(Op.LIST, 0, new byte[] {1, 2, 3}), null, Errno.EINVAL,
                "LIST: 3 unexpected bytes at the end of the payload"));
        bad.add(new Bad("short WAIT", item(Op.WAIT, 0, new byte[] {1, 2, 3}), null, Errno.EINVAL,
                "WAIT: payload too short for the 8-byte event number (3 bytes left)"));
        bad.add(new Bad("LOAD without table", item(Op.LOAD, 0, PayloadWriter.of("dev")), null, Errno.EINVAL, "LOAD: empty table"));
        bad.add(new Bad("MESSAGE sector with an index", item(Op.MESSAGE, 1, new PayloadWriter().u64(5).text("dev").nul().text("x").toBytes()),
                null, Errno.EINVAL, "MESSAGE: the sector field must be 0 when the target is addressed by index"));
        bad.add(new Bad("MESSAGE without text", item(Op.MESSAGE, 1, new PayloadWriter().u64(0).text("dev").toBytes()), null,
                Errno.EINVAL, "MESSAGE: missing message text after the device name"));
        bad.add(new Bad("MESSAGE with a lone backslash", item(Op.MESSAGE, 1, msg("dev", "a\\")), null, Errno.EINVAL,
                "table line ends with a lone backslash"));
        bad.add(new Bad("MESSAGE with a control character", item(Op.MESSAGE, 1, msg("dev", "a\u0001b")), null, Errno.EINVAL,
                "MESSAGE: message text contains control character 0x1"));
        bad.add(new Bad("garbage after a valid op", item(Op.CREATE, 0, new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 0x41}), null, Errno.EINVAL,
                "CREATE: device name is not valid UTF-8"));
        bad.add(new Bad("fd with LIST", item(Op.LIST, 0, new byte[0]), new int[] {readWriteFile}, Errno.EINVAL,
                "LIST takes no file descriptors (1 passed, closed)"));
        bad.add(new Bad("pipe with a message", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {pipeRead}, Errno.EBADF,
                "descriptor 0 is a pipe; a message takes stream sockets, regular files or block devices"));
        bad.add(new Bad("read-only file with a message", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {stream[0], readOnlyFile},
                Errno.EBADF, "descriptor 1 is a regular file opened read-only; a message needs it opened read-write"));
        bad.add(new Bad("datagram socket with a message", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {datagram}, Errno.EBADF,
                "descriptor 0 is a datagram socket; a message takes stream sockets"));
        bad.add(new Bad("listening stream socket with a message", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {stream[0], listening},
                Errno.EBADF, "descriptor 1 is a listening stream socket; a message takes connected stream sockets"));
        bad.add(new Bad("unconnected stream socket with a message", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {unconnected},
                Errno.EBADF, "descriptor 0 is a stream socket that is not connected; a message takes connected stream sockets"));
        bad.add(new Bad("5 fds", item(Op.MESSAGE, 1, msg("dev", "take-fd")),
                new int[] {stream[0], stream[0], stream[0], stream[0], stream[0]}, Errno.E2BIG,
                "5 file descriptors passed; a message takes at most 4"));
        int[] many = new int[20];
        java.util.Arrays.fill(many, readWriteFile);
        bad.add(new Bad("20 fds", item(Op.MESSAGE, 1, msg("dev", "take-fd")), many, Errno.E2BIG,
                "too many file descriptors passed (at most 4 per item); all were closed"));
        bad.add(new Bad("message the target refuses, with an fd", item(Op.MESSAGE, 0, msg("dev", "take-fd")), new int[] {stream[0]},
                Errno.EINVAL, "zero: target takes no messages"));
        bad.add(new Bad("UPGRADE jar path with a newline", item(Op.UPGRADE, 0, new PayloadWriter().text("b").nul().text("/x\n.jar").toBytes()),
                null, Errno.EINVAL, "UPGRADE: the jar path contains a control character"));
        bad.add(new Bad("device that does not exist", item(Op.RESUME, 0, PayloadWriter.of("nosuch")), null, Errno.ENXIO,
                "no device named 'nosuch'"));
        return bad;
    }

    private Item send(Bad b) throws Exception {
        assertTrue(socket.send(b.item(), b.fds() == null ? new int[0] : b.fds()), b.what());
        Received r = socket.receive(Ddlink.MAX_ITEM_BYTES, true);
        assertNotNull(r, b.what());
        assertEquals(0, r.fds().length, b.what());
        return Item.decode(r.data());
    }

    private String state() {
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : fixture.manager.list()) sb.append(d).append('\n');
        return sb.toString();
    }

    @Test
    void eachBadItemGetsAClearErrorAndChangesNothing() throws Exception {
        String before = state();
        for (Bad b : corpus()) {
            Item reply = send(b);
            assertEquals(-b.errno().code(), reply.status(), b.what() + ": " + reply.text());
            assertEquals(b.sentence(), reply.text(), b.what());
            if (b.item().length >= 8) {
                assertEquals(Item.peekOp(b.item()), reply.op(), b.what());
                assertEquals(Item.peekTag(b.item()), reply.tag(), b.what());
            }
            assertEquals(before, state(), b.what() + " changed a device");
        }
        assertEquals(0, fixture.manager.adoptedFds.size());
        // the connection still works
        assertTrue(socket.send(Item.request(Op.LIST, 1, 0, new byte[0]).encode()));
        assertEquals("dev\t(0:1)\n", Item.decode(socket.receive(Ddlink.MAX_ITEM_BYTES, true).data()).text());
    }

    @Test
    void tenThousandBadItemsLeakNoDescriptor() throws Exception {
        List<Bad> corpus = corpus();
        for (int i = 0; i < corpus.size(); i++) send(corpus.get(i));
        var before = Fds.snapshot();
        int threadsBefore = Thread.activeCount();
        for (int i = 0; i < 10_000; i++) {
            Bad b = corpus.get(i % corpus.size());
            Item reply = send(b);
            assertEquals(-b.errno().code(), reply.status(), b.what());
        }
        assertEquals(Map.of(), Fds.openedSince(before), "descriptors opened by 10,000 bad items and left open");
        assertTrue(Thread.activeCount() <= threadsBefore + 2, "no thread leak");
        assertEquals(1, fixture.manager.list().size());
    }

    @Test
    void aDescriptorTheTargetTakesIsItsAndOneItRefusesIsClosed() throws Exception {
        send(new Bad("warm up", item(Op.LIST, 0, new byte[0]), null, null, null));
        var before = Fds.snapshot();
        Item ok = send(new Bad("ok", item(Op.MESSAGE, 1, msg("dev", "take-fd")), new int[] {stream[0]}, null, null));
        assertEquals(0, ok.status(), ok.text());
        assertEquals("target 1 got take-fd binary 0 fds 1 tag 7", ok.text());
        assertEquals(1, fixture.manager.adoptedFds.size());
        int adopted = fixture.manager.adoptedFds.get(0);
        assertTrue(TestFds.isOpen(adopted));
        assertEquals(java.util.Set.of(adopted), Fds.openedSince(before).keySet(), "the one descriptor the target took");
        Fds.close(adopted);
        Item kept = send(new Bad("not taken", item(Op.MESSAGE, 1, msg("dev", "hello")), new int[] {stream[0], readWriteFile}, null, null));
        assertEquals("target 1 got hello binary 0 fds 2 tag 7", kept.text());
        assertEquals(Map.of(), Fds.openedSince(before), "the server closed the descriptors the target did not take");
    }

    @Test
    void aPeerThatHangsUpMidRequestDisturbsNobody() throws Exception {
        for (int i = 0; i < 50; i++) {
            try (SeqpacketSocket s = SeqpacketSocket.connect(fixture.socket)) {
                s.send(Item.request(Op.WAIT, 1, 0, new PayloadWriter().u64(99).u32(Ddlink.WAIT_FOREVER).u32(0).text("dev").toBytes()).encode(),
                        stream[0]);
                s.send(new byte[3]);
            }
        }
        long deadline = System.currentTimeMillis() + 5000;
        while (fixture.server.connectionCount() > 1 && System.currentTimeMillis() < deadline) Thread.sleep(10);
        assertEquals(1, fixture.server.connectionCount());
        assertTrue(socket.send(Item.request(Op.LIST, 1, 0, new byte[0]).encode()));
        assertEquals("dev\t(0:1)\n", Item.decode(socket.receive(Ddlink.MAX_ITEM_BYTES, true).data()).text());
        assertFalse(fixture.manager.list().isEmpty());
    }
}
