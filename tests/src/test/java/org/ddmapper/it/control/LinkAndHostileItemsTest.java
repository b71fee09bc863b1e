package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.Received;
import org.ddmapper.control.unix.SeqpacketSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/** Links and hostile items against the real core in a live Felix (the server runs in this JVM, so /proc/self/fd counts it). */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinkAndHostileItemsTest {
    @TempDir
    static Path dir;
    ControlHarness appliance;

    @BeforeAll
    void start() {
        appliance = ControlHarness.start();
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    private static Item nextEvent(DdlinkClient link) throws Exception {
        short[] ready = Fds.poll(new int[] {link.socket().fd()}, new short[] {Fds.POLLIN}, 5000);
        assertTrue((ready[0] & Fds.POLLIN) != 0, "an event is pollable on the link");
        Item item = link.next(false);
        assertEquals(Op.EVENT.code(), item.op());
        return item;
    }

    @Test
    void aLinkCarriesEventsKeepsItsDeviceAcrossARenameAndAnswersEnodevAfterRemoveAndRecreate() throws Exception {
        try (DdlinkClient control = appliance.client()) {
            control.callOk(Op.CREATE, 0, new PayloadWriter().text("l0").nul().text("0 8 echo").toBytes());
            long id = appliance.manager.info(DeviceRef.of("l0")).id();
            try (DdlinkClient link = control.link("l0")) {
                assertEquals(id, link.deviceId());
                assertNull(link.next(false), "nothing queued: the read returns at once");

                control.callOk(Op.MESSAGE, 0, new PayloadWriter().u64(0).text("l0").nul().text("event path=/dev/sdb state=failed").toBytes());
                PayloadReader e = new PayloadReader(Op.EVENT, nextEvent(link).payload());
                long nr = e.u64("nr");
                assertEquals(EventStream.position(appliance.manager, DeviceRef.of("l0")), nr, "the event's number in the device's stream");
                assertEquals(id, e.u64("id"));
                assertTrue(e.u64("time") > 0);
                assertEquals(0, e.u32("target"));
                e.u32("reserved");
                assertEquals("l0 " + nr + " target_event target=0 path=/dev/sdb state=failed", new String(e.rest(), StandardCharsets.UTF_8));

                control.callOk(Op.RENAME, 0, new PayloadWriter().text("l0").nul().text("l1").toBytes());
                String renamed = new String(new PayloadReader(Op.EVENT, nextEvent(link).payload()).tail(32).getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
                assertTrue(renamed.contains(" renamed from=l0 to=l1"), renamed);
                control.callOk(Op.CREATE, 0, new PayloadWriter().text("l0").nul().text("0 16 zero").toBytes());
                assertEquals("0 8 echo \n", new String(link.callOk(Op.TABLE, 0, new byte[0]), StandardCharsets.UTF_8));
                Item viaLink = link.call(Op.MESSAGE, 0, new PayloadWriter().u64(0).nul().text("hello").toBytes());
                assertEquals("echo hello binary 0 fds 0", viaLink.text());

                // a WAIT pending without limit while the device is removed: ENODEV, not the REMOVED event's number
                long now = appliance.manager.info(DeviceRef.of("l1")).eventNr();
                assertTrue(link.socket().send(Item.request(Op.WAIT, 77, 0,
                        new PayloadWriter().u64(now).u32(Ddlink.WAIT_FOREVER).u32(0).toBytes()).encode()));
                link.callOk(Op.INFO, 0, new byte[0]); // requests are taken in order: the WAIT is pending now
                control.callOk(Op.REMOVE, 0, PayloadWriter.of("l1"));
                Item waited = null;
                String removed = null;
                while (waited == null || removed == null) {
                    short[] ready = Fds.poll(new int[] {link.socket().fd()}, new short[] {Fds.POLLIN}, 10_000);
                    assertTrue((ready[0] & Fds.POLLIN) != 0, "the WAIT reply and the REMOVED event arrive");
                    Item item = link.next(false);
                    if (item.op() == Op.EVENT.code()) removed = new PayloadReader(Op.EVENT, item.payload()).tail(32);
                    else waited = item;
                }
                assertTrue(removed.contains(" removed "), removed);
                assertEquals(77, waited.tag());
                assertEquals(-Errno.ENODEV.code(), waited.status(), waited.text());
                assertEquals("the device this link was opened for ('l0', #" + id + ") was removed", waited.text());
                control.callOk(Op.CREATE, 0, new PayloadWriter().text("l1").nul().text("0 8 echo").toBytes());
                Item laterWait = link.call(Op.WAIT, 0, new PayloadWriter().u64(0).u32(0).u32(0).toBytes());
                assertEquals(-Errno.ENODEV.code(), laterWait.status(), laterWait.text());
                Item laterEvents = link.call(Op.EVENTS, 0, new PayloadWriter().u64(0).toBytes());
                assertEquals(-Errno.ENODEV.code(), laterEvents.status(), laterEvents.text());
                for (Op op : List.of(Op.STATUS, Op.INFO, Op.TABLE, Op.SUSPEND, Op.RESUME, Op.REMOVE)) {
                    Item r = link.call(op, 0, new byte[0]);
                    assertEquals(-Errno.ENODEV.code(), r.status(), op + ": " + r.text());
                    assertEquals("the device this link was opened for ('l0', #" + id + ") was removed", r.text());
                }
                // neither the new l1 nor the new l0 was touched
                assertEquals("0 16 zero \n", new String(control.callOk(Op.TABLE, 0, PayloadWriter.of("l0")), StandardCharsets.UTF_8));
                assertEquals(false, appliance.manager.info(DeviceRef.of("l1")).suspended());
            } finally {
                appliance.manager.remove(DeviceRef.of("l0"), true);
                appliance.manager.remove(DeviceRef.of("l1"), true);
            }
        }
    }

    private static byte[] raw(int op, int target, int lengthField, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(op).putInt(9).putInt(target).putInt(lengthField).put(payload).array();
    }

    @Test
    void tenThousandHostileItemsGetErrorsChangeNothingAndLeakNoDescriptor() throws Exception {
        appliance.manager.create("h0", "0 8 echo");
        int[] pipe = Pipes.open();
        try (SeqpacketSocket s = SeqpacketSocket.connect(appliance.socket)) {
            s.setSendBufferBytes(1 << 20);
            byte[] msg = new PayloadWriter().u64(0).text("h0").nul().text("take-fd").toBytes();
            record Bad(byte[] item, int[] fds, Errno errno) {}
            List<Bad> corpus = List.of(
                    new Bad(new byte[5], new int[0], Errno.EPROTO),
                    new Bad(raw(Op.LIST.code(), 0, 1000, new byte[3]), new int[0], Errno.EPROTO),
                    new Bad(raw(12345, 0, 0, new byte[0]), new int[0], Errno.EOPNOTSUPP),
                    new Bad(raw(Op.LIST.code(), 0, Ddlink.MAX_ITEM_BYTES, new byte[Ddlink.MAX_ITEM_BYTES]), new int[0], Errno.EMSGSIZE),
                    new Bad(raw(Op.SUSPEND.code(), 0, 3, new byte[] {(byte) 0xFF, (byte) 0xFE, (byte) 0xFD}), new int[0], Errno.EINVAL),
                    new Bad(raw(Op.WAIT.code(), 0, 2, new byte[] {1, 2}), new int[0], Errno.EINVAL),
                    new Bad(raw(Op.MESSAGE.code(), 0, msg.length, msg), new int[] {pipe[0]}, Errno.EBADF),
                    new Bad(raw(Op.LIST.code(), 0, 0, new byte[0]), new int[] {pipe[1]}, Errno.EINVAL),
                    new Bad(raw(Op.MESSAGE.code(), 0, msg.length, msg), new int[] {pipe[0], pipe[0], pipe[1], pipe[1], pipe[0]}, Errno.E2BIG),
                    new Bad(raw(Op.SUSPEND.code(), 0, 6, "nosuch".getBytes()), new int[0], Errno.ENXIO));
            String before = appliance.manager.list().toString();
            for (Bad b : corpus) exchange(s, b.item(), b.fds());
            var fdsBefore = Fds.snapshot();
            for (int i = 0; i < 10_000; i++) {
                Bad b = corpus.get(i % corpus.size());
                Item reply = exchange(s, b.item(), b.fds());
                assertEquals(-b.errno().code(), reply.status(), i + ": " + reply.text());
            }
            assertEquals(java.util.Map.of(), Fds.openedSince(fdsBefore), "descriptors opened by 10,000 hostile items and left open");
            assertEquals(before, appliance.manager.list().toString(), "no device changed");
            assertEquals(0, appliance.echo.adopted.size());
        } finally {
            Fds.close(pipe[0]);
            Fds.close(pipe[1]);
            appliance.manager.remove(DeviceRef.of("h0"), true);
        }
    }

    private static Item exchange(SeqpacketSocket s, byte[] item, int[] fds) throws Exception {
        assertTrue(s.send(item, fds));
        Received r = s.receive(Ddlink.MAX_ITEM_BYTES, true);
        assertEquals(0, r.fds().length);
        return Item.decode(r.data());
    }
}
