package org.ddmapper.targets.multipath.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.StatusType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.api.EventPayload;

@Timeout(10)
class MessagesTest {
    private final byte[] disk = new byte[16 * 512];
    private FakeTargetContext ctx;
    private MultipathTarget t;

    @BeforeEach
    void setUp() {
        ctx = new FakeTargetContext(16).named("mpatha");
        ctx.device(new MemoryDevice("/p/a", disk)).device(new MemoryDevice("/p/b", disk))
                .device(new MemoryDevice("/p/c", disk));
        t = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, "0 0 2 1 round-robin 0 2 0 /p/a /p/b round-robin 0 1 0 /p/c"), null);
        t.resume();
    }

    @AfterEach
    void tearDown() { ctx.close(); }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "fail_path|fail_path needs 1 argument, got 0",
        "fail_path /p/a /p/b|fail_path needs 1 argument, got 2",
        "fail_path /p/zz|no path '/p/zz' in this map",
        "fail_path 9|no path '9' in this map",
        "reinstate_path 0|no path '0' in this map",
        "switch_group 0|invalid priority group '0' (expected 1..2)",
        "switch_group 1x|invalid priority group '1x' (expected 1..2)",
        "switch_group 3|invalid priority group '3' (expected 1..2)",
        "disable_group -1|invalid priority group '-1' (expected 1..2)",
        "enable_group|enable_group needs 1 argument, got 0",
        "queue_if_no_path now|queue_if_no_path needs 0 arguments, got 1",
        "frobnicate|unknown message 'frobnicate'",
        "reconnect_path 1|reconnect_path needs exactly one passed socket, got 0",
        "reconnect_path 1 later|reconnect_path: unknown option 'later' (expected negotiated)",
        "show everything|unknown view 'show everything'",
    })
    void badMessagesAreRefusedAndChangeNothing(String words, String expected) {
        String before = t.status(StatusType.INFO);
        DmException e = assertThrows(DmException.class, () -> t.message(new Message(List.of(words.split(" ")), null, null, 0)));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("multipath: " + expected, e.getMessage().replaceAll(" \\(expected (fail_path|show).*", ""));
        assertEquals(before, t.status(StatusType.INFO));
        assertTrue(ctx.events().isEmpty());
    }

    @Test
    void verbsAreCaseInsensitiveLikeTheKernels() {
        t.message(Message.of("FAIL_PATH", "/p/a"));
        assertEquals(1, ctx.events(EventKind.PATH_FAILED).size());
    }

    @Test
    void everyStateChangingMessageIsRefusedWhileSuspendedButShowIsNot() {
        t.presuspend(true);
        t.postsuspend();
        for (String m : new String[] {"fail_path /p/a", "reinstate_path /p/a", "switch_group 2", "disable_group 1",
                "enable_group 1", "queue_if_no_path", "fail_if_no_path"}) {
            DmException e = assertThrows(DmException.class, () -> t.message(new Message(List.of(m.split(" ")), null, null, 0)));
            assertEquals(Errno.EBUSY, e.errno(), m);
            assertEquals("multipath: '" + m.split(" ")[0] + "' refused: the device is suspended", e.getMessage());
        }
        assertTrue(t.message(Message.of("show", "topology")).contains("suspended"));
        t.resume();
        t.message(Message.of("fail_path", "/p/a"));
        assertEquals(1, ctx.events(EventKind.PATH_FAILED).size());
    }

    @Test
    void passedDescriptorsAreRefusedByOtherMessagesAndClosed() {
        AtomicBoolean closed = new AtomicBoolean();
        PassedFd fd = fakeFd(closed);
        DmException e = assertThrows(DmException.class,
                () -> t.message(new Message(List.of("fail_path", "/p/a"), null, List.of(fd), 0)));
        assertEquals("multipath: 'fail_path' takes no passed file descriptor (got 1)", e.getMessage());
        assertTrue(closed.get());
    }

    @Test
    void reconnectPathAdoptsThePassedSocketAndReinstatesThePath() {
        t.message(Message.of("fail_path", "/p/b"));
        MemoryDevice adopted = new MemoryDevice("/p/b", disk);
        ctx.adopting(adopted);
        AtomicBoolean closed = new AtomicBoolean();
        assertEquals("", t.message(new Message(List.of("reconnect_path", "2", "negotiated"), null, List.of(fakeFd(closed)), 0)));
        assertTrue(lastAdoption().negotiated());
        assertEquals(adopted, t.paths().get(1).device());
        EventPayload back = ctx.events(EventKind.PATH_REINSTATED).get(0);
        assertEquals("/p/b", back.details().get("path"));
        assertEquals("reconnect_path message", back.details().get("reason"));
        // a later reconnect closes the device the target itself adopted before
        MemoryDevice second = new MemoryDevice("/p/b", disk);
        ctx.adopting(second);
        t.message(new Message(List.of("reconnect_path", "/p/b"), null, List.of(fakeFd(new AtomicBoolean())), 0));
        assertTrue(adopted.isClosed());
        assertTrue(!lastAdoption().negotiated());
    }

    @Test
    void aNegotiatedSocketTellsTheNbdTransportTheSize() {
        ctx.device(new MemoryDevice("nbd://10.0.0.7:10809/lun0", disk));
        MultipathTarget n = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, "0 0 1 1 round-robin 0 1 0 nbd://10.0.0.7:10809/lun0"), null);
        n.resume();
        ctx.adopting(new MemoryDevice("nbd://10.0.0.7:10809/lun0", disk));
        n.message(new Message(List.of("reconnect_path", "1", "negotiated"), null, List.of(fakeFd(new AtomicBoolean())), 0));
        assertEquals("nbd://10.0.0.7:10809/lun0?size=8192", lastAdoption().reference());
        n.message(new Message(List.of("reconnect_path", "1"), null, List.of(fakeFd(new AtomicBoolean())), 0));
        assertEquals("nbd://10.0.0.7:10809/lun0", lastAdoption().reference(), "with a handshake the server tells the size");
        // the facts of a handshake someone else did travel with the message
        n.message(new Message(List.of("reconnect_path", "1", "negotiated", "size=16384", "flags=0x4d"), null,
                List.of(fakeFd(new AtomicBoolean())), 0));
        assertEquals("nbd://10.0.0.7:10809/lun0?size=16384&flags=0x4d", lastAdoption().reference());
        assertTrue(n.message(Message.of("show", "topology")).contains("fail=0 transport=passed-socket-negotiated"),
                n.message(Message.of("show", "topology")));
        for (String[] bad : new String[][] {
            {"flags=0x10000", "multipath: reconnect_path: flags '0x10000' are not the 16-bit transmission flags (0x0000..0xffff)"},
            {"size=100", "multipath: reconnect_path: size '100' is not a positive whole number of 512-byte sectors"},
            {"fua", "multipath: reconnect_path: unknown or repeated option 'fua' after negotiated (expected size=BYTES or flags=0xNNNN)"},
        }) {
            AtomicBoolean closed = new AtomicBoolean();
            DmException e = assertThrows(DmException.class, () -> n.message(new Message(
                    List.of("reconnect_path", "1", "negotiated", bad[0]), null, List.of(fakeFd(closed)), 0)));
            assertEquals(bad[1], e.getMessage());
            assertTrue(closed.get(), "the refused socket is closed");
        }
    }

    @Test
    void reconnectRefusesADeviceTooSmallAndClosesIt() {
        MemoryDevice small = new MemoryDevice("/p/b", new byte[512]);
        ctx.adopting(small);
        DmException e = assertThrows(DmException.class,
                () -> t.message(new Message(List.of("reconnect_path", "/p/b"), null, List.of(fakeFd(new AtomicBoolean())), 0)));
        assertEquals("multipath: path '/p/b' has 1 sectors, fewer than the target's 16", e.getMessage());
        assertTrue(small.isClosed());
    }

    @Test
    void showViewsDrawTheTopologyAndThePaths() {
        t.message(Message.of("fail_path", "/p/b"));
        String topo = t.message(Message.of("show", "topology"));
        assertEquals("""
                mpatha (dm:mpatha) multipath
                size=8K features='0' hwhandler='0' wp=rw queued=0
                |-+- policy='round-robin 0' group=1 status=enabled
                | |- 1 /p/a active undef none fail=0 (no path monitor)
                | `- 2 /p/b failed undef none fail=1 (fail_path message; checker: no path monitor)
                `-+- policy='round-robin 0' group=2 status=enabled
                  `- 3 /p/c active undef none fail=0 (no path monitor)
                """, topo);
        String paths = t.message(Message.of("show", "paths"));
        assertTrue(paths.startsWith("map    path dev  group dm_st  chk_st checker failures next_check transport reason\n"), paths);
        assertTrue(paths.contains("mpatha 2    /p/b 1     failed undef  none    1        -          table     fail_path message; checker: no path monitor"), paths);
    }

    static PassedFd fakeFd(AtomicBoolean closed) {
        return new PassedFd() {
            @Override public int fd() { return closed.get() ? -1 : 42; }

            @Override public int take() { closed.set(true); return 42; }

            @Override public void close() { closed.set(true); }
        };
    }

    private FakeTargetContext.Adoption lastAdoption() {
        List<FakeTargetContext.Adoption> all = ctx.adoptions();
        return all.get(all.size() - 1);
    }
}
