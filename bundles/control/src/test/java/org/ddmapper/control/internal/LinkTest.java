package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** LINK: a socket bound to one device instance, carrying its events. */
@Timeout(30)
class LinkTest {
    @TempDir
    Path dir;
    ServerFixture fixture;
    DdlinkClient control;

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dir);
        control = fixture.client();
        control.callOk(Op.CREATE, 0, new PayloadWriter().text("dev").nul().text("0 10 zero\n10 10 echo").toBytes());
    }

    @AfterEach
    void stop() {
        control.close();
        fixture.close();
    }

    /** The next event on the link within 5 s: {event_nr, line}. */
    private static Object[] event(DdlinkClient link) throws Exception {
        short[] ready = Fds.poll(new int[] {link.socket().fd()}, new short[] {Fds.POLLIN}, 5000);
        assertTrue((ready[0] & Fds.POLLIN) != 0, "an event is pollable");
        Item item = link.next(false);
        assertEquals(Op.EVENT.code(), item.op());
        assertEquals(0, item.status());
        PayloadReader p = new PayloadReader(Op.EVENT, item.payload());
        long nr = p.u64("nr");
        long id = p.u64("id");
        long time = p.u64("time");
        int index = p.u32("index");
        assertEquals(0, p.u32("reserved"));
        assertTrue(time > 0);
        return new Object[] {nr, new String(p.rest(), StandardCharsets.UTF_8), id, index};
    }

    @Test
    void linkReplyNamesTheDeviceAndItsFdIsNonBlocking() throws Exception {
        try (DdlinkClient link = control.link("dev")) {
            assertEquals(1, link.deviceId());
            assertEquals("dev", link.deviceName());
            assertTrue(Fds.isNonBlocking(link.socket().fd()));
            long before = System.nanoTime();
            assertNull(link.next(false), "a read with nothing queued returns at once");
            assertTrue(System.nanoTime() - before < 1_000_000_000L, "returned at once, not after blocking (1 s leaves room for a busy machine)");
            short[] ready = Fds.poll(new int[] {link.socket().fd()}, new short[] {Fds.POLLIN}, 0);
            assertEquals(0, ready[0] & Fds.POLLIN);
        }
    }

    @Test
    void eventsArriveWithTheirPayload() throws Exception {
        try (DdlinkClient link = control.link("dev")) {
            control.callOk(Op.MESSAGE, 1, new PayloadWriter().u64(0).text("dev").nul().text("event path=/dev/sdb state=failed").toBytes());
            Object[] e = event(link);
            assertEquals(3L, e[0]);
            assertEquals(1L, e[2]);
            assertEquals(1, e[3]);
            assertEquals("dev 3 target_event target=1 path=/dev/sdb state=failed", e[1]);
            control.callOk(Op.SUSPEND, Ddlink.FLAG_NOFLUSH, PayloadWriter.of("dev"));
            assertEquals("dev 4 suspended held=0 noflush=true", event(link)[1]);
        }
    }

    @Test
    void opsOnALinkNeedNoNameAndKeepTheDeviceAcrossARename() throws Exception {
        try (DdlinkClient link = control.link("dev")) {
            control.callOk(Op.RENAME, 0, new PayloadWriter().text("dev").nul().text("renamed").toBytes());
            assertTrue(((String) event(link)[1]).endsWith(" 3 renamed from=dev to=renamed"));
            control.callOk(Op.CREATE, 0, new PayloadWriter().text("dev").nul().text("0 5 zero").toBytes());
            // the link still reaches the renamed device, not the new one called dev
            assertEquals("0 10 zero \n10 10 echo \n", new String(link.callOk(Op.TABLE, 0, new byte[0])));
            assertTrue(new String(link.callOk(Op.INFO, 0, new byte[0])).startsWith("Name:              renamed\n"));
            Item msg = link.call(Op.MESSAGE, Ddlink.TARGET_BY_SECTOR, new PayloadWriter().u64(12).nul().text("hi").toBytes());
            assertEquals(0, msg.status(), msg.text());
            assertTrue(msg.text().startsWith("target 1 got hi"));
            Item named = link.call(Op.STATUS, 0, PayloadWriter.of("dev"));
            assertEquals(-Errno.EINVAL.code(), named.status());
            assertEquals("STATUS: a link is bound to its device; leave the device name empty", named.text());
            Item create = link.call(Op.CREATE, 0, PayloadWriter.of("x"));
            assertEquals(-Errno.EOPNOTSUPP.code(), create.status());
            assertEquals("CREATE is not available on a link; use the control socket", create.text());
            link.callOk(Op.SUSPEND, 0, new byte[0]);
            assertTrue(new String(control.callOk(Op.INFO, 0, PayloadWriter.of("renamed"))).contains("SUSPENDED"));
        }
    }

    @Test
    void afterRemoveAndRecreateTheOldLinkAnswersEnodev() throws Exception {
        String gone = "the device this link was opened for ('dev', #1) was removed";
        try (DdlinkClient link = control.link("dev")) {
            // well-formed WAIT and EVENTS work on the live device (so the refusals below are about the removal)
            assertEquals(2L, new PayloadReader(Op.WAIT, link.callOk(Op.WAIT, 0, waitPayload(0, 0))).u64("nr"));
            assertEquals("dev 1 created\ndev 2 table_live size=20 targets=2\n", new String(link.callOk(Op.EVENTS, 0, new PayloadWriter().u64(0).toBytes()),
                    StandardCharsets.UTF_8));
            // a WAIT pending (without limit) while the device is removed answers ENODEV, not the REMOVED event's number
            assertTrue(link.socket().send(Item.request(Op.WAIT, 77, 0, waitPayload(2, Ddlink.WAIT_FOREVER)).encode()));
            // requests on a link are taken in order: once STATUS is answered, the WAIT was taken and is pending
            assertEquals("0 10 zero \n10 10 echo messages 0\n", new String(link.callOk(Op.STATUS, 0, new byte[0]), StandardCharsets.UTF_8));
            control.callOk(Op.REMOVE, 0, PayloadWriter.of("dev"));
            List<Item> events = new ArrayList<>();
            Item pending = replyWithTag(link, 77, events);
            assertEquals(-Errno.ENODEV.code(), pending.status(), pending.text());
            assertEquals(gone, pending.text());
            if (events.isEmpty()) events.add(nextWithin(link, 5000));
            assertEquals(Op.EVENT.code(), events.get(0).op());
            assertTrue(new String(events.get(0).payload(), StandardCharsets.UTF_8).endsWith("dev 3 removed failed=0 force=false"));
            control.callOk(Op.CREATE, 0, new PayloadWriter().text("dev").nul().text("0 10 zero\n10 10 echo").toBytes());
            for (Op op : new Op[] {Op.STATUS, Op.INFO, Op.SUSPEND, Op.RESUME, Op.REMOVE}) {
                Item r = link.call(op, 0, new byte[0]);
                assertEquals(-Errno.ENODEV.code(), r.status(), op.toString());
                assertEquals(gone, r.text());
            }
            // WAIT (both at once and with a timeout) and EVENTS after the removal: ENODEV, even though the new 'dev' has events
            for (byte[] wait : new byte[][] {waitPayload(0, 0), waitPayload(0, 1000), waitPayload(5, Ddlink.WAIT_FOREVER)}) {
                Item r = link.call(Op.WAIT, 0, wait);
                assertEquals(-Errno.ENODEV.code(), r.status(), r.text());
                assertEquals(gone, r.text());
            }
            Item history = link.call(Op.EVENTS, 0, new PayloadWriter().u64(0).toBytes());
            assertEquals(-Errno.ENODEV.code(), history.status(), history.text());
            assertEquals(gone, history.text());
            Item r = link.call(Op.MESSAGE, 1, new PayloadWriter().u64(0).nul().text("hi").toBytes());
            assertEquals(-Errno.ENODEV.code(), r.status());
            // the new device is untouched
            assertEquals(1, fixture.manager.list().size());
            assertEquals(0, fixture.manager.info(org.ddmapper.api.DeviceRef.of("dev")).eventNr() - 2);
        }
    }

    @Test
    void closingTheLinkUnsubscribesAndEndsItsThread() throws Exception {
        int subscriptions = fixture.manager.subscriptionCount();
        DdlinkClient link = control.link("dev");
        assertEquals(subscriptions + 1, fixture.manager.subscriptionCount());
        assertEquals(2, fixture.server.connectionCount());
        link.close();
        long deadline = System.currentTimeMillis() + 5000;
        while (fixture.server.connectionCount() != 1 && System.currentTimeMillis() < deadline) Thread.sleep(10);
        assertEquals(1, fixture.server.connectionCount());
        assertEquals(subscriptions, fixture.manager.subscriptionCount());
    }

    @Test
    void anUnreadLinkDropsEventsBeyondItsQueueAndSaysHowMany() throws Exception {
        try (DdlinkClient link = control.link("dev")) {
            int total = Connection.MAX_QUEUED_EVENTS + 1000;
            for (int i = 0; i < total; i++) fixture.manager.message(org.ddmapper.api.DeviceRef.of("dev"),
                    new org.ddmapper.api.TargetRef.ByIndex(1), org.ddmapper.api.Message.of("event", "n=" + i));
            // the server stays responsive while the link is full
            assertEquals(0, control.call(Op.LIST, 0, new byte[0]).status());
            long events = 0;
            long lost = 0;
            long lastNr = 0;
            Item item;
            while ((item = nextWithin(link, 1000)) != null) {
                if (item.op() == Op.EVENTS_LOST.code()) {
                    lost += new PayloadReader(Op.EVENTS_LOST, item.payload()).u64("lost");
                } else {
                    long nr = new PayloadReader(Op.EVENT, item.payload()).u64("nr");
                    assertTrue(nr > lastNr, "events stay in order");
                    lastNr = nr;
                    events++;
                }
                if (events + lost == total) {
                    // a further event makes the lost count appear if it has not yet
                    if (lost == 0) break;
                }
            }
            fixture.manager.message(org.ddmapper.api.DeviceRef.of("dev"), new org.ddmapper.api.TargetRef.ByIndex(1),
                    org.ddmapper.api.Message.of("event", "last=1"));
            while ((item = nextWithin(link, 1000)) != null) {
                if (item.op() == Op.EVENTS_LOST.code()) lost += new PayloadReader(Op.EVENTS_LOST, item.payload()).u64("lost");
                else events++;
            }
            assertNotEquals(0, lost, "the link said it lost events");
            assertEquals(total + 1, events + lost);
        }
    }

    /** WAIT's payload on a link: {@code u64 after | u32 timeout_ms | u32 0} and an empty name. */
    private static byte[] waitPayload(long after, int timeoutMillis) {
        return new PayloadWriter().u64(after).u32(timeoutMillis).u32(0).toBytes();
    }

    /** The reply with this tag within 5 s; events that come first go to {@code events}. */
    private static Item replyWithTag(DdlinkClient link, int tag, List<Item> events) throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        while (System.currentTimeMillis() < deadline) {
            Item item = nextWithin(link, 100);
            if (item == null) continue;
            if (item.op() == Op.EVENT.code()) events.add(item);
            else if (item.tag() == tag) return item;
        }
        throw new AssertionError("no reply with tag " + tag + " within 5 s");
    }

    private static Item nextWithin(DdlinkClient link, int millis) throws Exception {
        Item item = link.next(false);
        if (item != null) return item;
        short[] ready = Fds.poll(new int[] {link.socket().fd()}, new short[] {Fds.POLLIN}, millis);
        return (ready[0] & Fds.POLLIN) != 0 ? link.next(false) : null;
    }
}
