package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;

/**
 * Fuzzes ddlink through the real control socket (one server over an in-memory device manager,
 * one client connection for the whole run):
 * <ul>
 * <li>{@code item}: the input is sent as one item, exactly as it is (framing, header, payload);</li>
 * <li>{@code request}: the input is {@code op | tag | target | payload} and the length field is
 * filled in, so the mutations reach the payload readers of every op.</li>
 * </ul>
 * Each item gets exactly one reply, within 10 s, echoing op and tag, with status 0 or a known
 * -errno; an error reply is one UTF-8 sentence that is not an "internal error"; and the connection
 * still answers VERSION afterwards. A WAIT's timeout is set to 0 so its reply comes at once; a LINK's
 * descriptor is closed; devices made by the inputs are removed when there are more than 32.
 */
class DdlinkFuzzTest {
    private static ServerFixture fixture;
    private static SeqpacketSocket client;
    private static int tagCounter;

    @FuzzTest
    void item(byte[] input) throws IOException {
        exchange(input);
    }

    @FuzzTest
    void request(byte[] input) throws IOException {
        byte[] header = Arrays.copyOf(input, Math.min(input.length, 12));
        ByteBuffer item = ByteBuffer.allocate(Ddlink.HEADER_BYTES + Math.max(0, input.length - 12)).order(ByteOrder.LITTLE_ENDIAN);
        item.put(Arrays.copyOf(header, 12)).putInt(Math.max(0, input.length - 12));
        if (input.length > 12) item.put(input, 12, input.length - 12);
        exchange(item.array());
    }

    private static void exchange(byte[] raw) throws IOException {
        SeqpacketSocket socket = client();
        if (raw.length > Ddlink.MAX_ITEM_BYTES) raw = Arrays.copyOf(raw, Ddlink.MAX_ITEM_BYTES + 1);
        if (Item.peekOp(raw) == Op.WAIT.code() && raw.length >= Ddlink.HEADER_BYTES + 12) {
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putInt(Ddlink.HEADER_BYTES + 8, 0);
        }
        assertTrue(socket.send(raw), "the server stopped reading");
        Item reply = receive(socket);
        int op = Item.peekOp(raw);
        assertEquals(op, reply.op(), "op echoed");
        assertEquals(Item.peekTag(raw), reply.tag(), "tag echoed");
        if (!reply.ok()) {
            assertTrue(reply.status() < 0 && Errno.of(-reply.status()).code() == -reply.status(), () -> "status " + reply.status());
            String sentence = utf8(reply.payload());
            assertFalse(sentence.isBlank(), "an error reply says what was wrong");
            assertFalse(sentence.startsWith("internal error"), () -> "op " + op + ": " + sentence);
            assertFalse(sentence.contains("\n"), () -> "one sentence: " + sentence);
        }
        int ping = ++tagCounter;
        assertTrue(socket.send(Item.request(Op.VERSION, ping, 0, new byte[0]).encode()));
        Item version = receive(socket);
        assertEquals(ping, version.tag());
        assertTrue(version.ok(), "the connection still answers");
        if (fixture.manager.list().size() > 32) {
            for (DeviceInfo d : fixture.manager.list()) fixture.manager.remove(DeviceRef.of(d.name()), true);
        }
    }

    private static Item receive(SeqpacketSocket socket) throws IOException {
        short[] ready = Fds.poll(new int[] {socket.fd()}, new short[] {Fds.POLLIN}, 10_000);
        assertTrue((ready[0] & Fds.POLLIN) != 0, "no reply within 10 s");
        Received r = socket.receive(Ddlink.MAX_ITEM_BYTES, true);
        assertNotNull(r);
        r.closeFds();
        try {
            return Item.decode(r.data());
        } catch (Item.FramingException e) {
            throw new AssertionError("the reply is not a well-framed item: " + e.getMessage(), e);
        }
    }

    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("error reply is not UTF-8: " + Arrays.toString(bytes), e);
        }
    }

    /** The server and the connection, made on first use and kept for the JVM's life (its temp dir goes with it). */
    private static synchronized SeqpacketSocket client() throws IOException {
        if (client == null) {
            Path dir = Files.createTempDirectory("ddlink-fuzz");
            dir.toFile().deleteOnExit();
            fixture = new ServerFixture(dir);
            client = SeqpacketSocket.connect(fixture.socket);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                client.close();
                fixture.close();
            }));
        }
        return client;
    }
}
