package org.ddmapper.targets.multipath.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;

@Timeout(10)
class TableGrammarTest {
    private FakeTargetContext ctx;

    @BeforeEach
    void setUp() {
        ctx = new FakeTargetContext(16).named("mpatha");
        byte[] disk = new byte[16 * 512];
        for (String ref : new String[] {"/p/a", "/p/b", "/p/c", "/p/d", "/p/with space"})
            ctx.device(new MemoryDevice(ref, disk));
    }

    @AfterEach
    void tearDown() { ctx.close(); }

    private MultipathTarget build(String args) {
        return MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, args), null);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // kernel doc examples, with our references
        "0 0 1 1 queue-length 0 2 1 /p/a 128 /p/b 128|0 0 1 1 queue-length 0 2 1 /p/a 1 /p/b 1",
        "0 0 1 1 service-time 0 2 2 /p/a 128 1 /p/b 128 4|0 0 1 1 service-time 0 2 2 /p/a 1 1 /p/b 1 4",
        // what multipath-tools generates
        "1 queue_if_no_path 1 alua 2 1 service-time 0 2 1 /p/a 1 /p/b 1 service-time 0 2 1 /p/c 1 /p/d 1"
            + "|1 queue_if_no_path 1 alua 2 1 service-time 0 2 2 /p/a 1 1 /p/b 1 1 service-time 0 2 2 /p/c 1 1 /p/d 1 1",
        "0 0 1 1 round-robin 0 2 0 /p/a /p/b|0 0 1 1 round-robin 0 2 1 /p/a 1 /p/b 1",
        "5 pg_init_retries 50 pg_init_delay_msecs 0 retain_attached_hw_handler 0 2 2 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b"
            + "|5 pg_init_retries 50 pg_init_delay_msecs 0 retain_attached_hw_handler 0 2 2 round-robin 0 1 1 /p/a 1 round-robin 0 1 1 /p/b 1",
        "4 queue_mode bio path_io_timeout_msecs 250 0 1 1 round-robin 0 1 0 /p/with\\ space"
            + "|5 retain_attached_hw_handler queue_mode bio path_io_timeout_msecs 250 0 1 1 round-robin 0 1 1 /p/with\\ space 1",
        "0 0 0 0|0 0 0 0",
    })
    void tableLineIsCanonicalAndParsesBack(String input, String canonical) {
        MultipathTarget t = build(input);
        String table = t.status(StatusType.TABLE);
        assertEquals(canonical + " ", table, "6.1 ends the line with a blank");
        assertEquals(table, build(table).status(StatusType.TABLE));
    }

    @Test
    void infoLineHasKernelShape() {
        MultipathTarget st = build("0 0 2 1 service-time 0 2 2 /p/a 1 1 /p/b 1 4 round-robin 0 1 0 /p/c");
        assertEquals("2 1 0 0 2 1 E 0 2 2 /p/a A 0 0 1 /p/b A 0 0 4 E 0 1 0 /p/c A 0 ", st.status(StatusType.INFO),
                "queue_io is 1 until the first I/O chooses a group, and the line ends with a blank, as in 6.1");
        MultipathTarget ql = build("0 0 1 1 queue-length 0 1 0 /p/a");
        assertEquals("2 1 0 0 1 1 E 0 1 1 /p/a A 0 0 ", ql.status(StatusType.INFO));
    }

    @Test
    void anInitialGroupBeyondTheGroupsFallsBackToTheFirstAsIn61() {
        MultipathTarget t = build("0 0 2 3 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        assertEquals("0 0 2 1 round-robin 0 1 1 /p/a 1 round-robin 0 1 1 /p/b 1 ", t.status(StatusType.TABLE));
        assertEquals("2 1 0 0 2 1 E 0 1 0 /p/a A 0 E 0 1 0 /p/b A 0 ", t.status(StatusType.INFO));
    }

    @Test
    void queueModeAndHardwareHandlerPrintBackAs61PrintsThem() {
        assertEquals("0 0 1 1 round-robin 0 1 1 /p/a 1 ", build("2 queue_mode rq 0 1 1 round-robin 0 1 0 /p/a").status(StatusType.TABLE),
                "rq (and mq) is the default and not printed");
        assertEquals("0 0 1 1 round-robin 0 1 1 /p/a 1 ", build("2 queue_mode mq 0 1 1 round-robin 0 1 0 /p/a").status(StatusType.TABLE));
        assertEquals("3 retain_attached_hw_handler queue_mode bio 0 1 1 round-robin 0 1 1 /p/a 1 ",
                build("2 queue_mode bio 1 alua 1 1 round-robin 0 1 0 /p/a").status(StatusType.TABLE),
                "bio implies retain_attached_hw_handler and takes no hardware handler");
        assertEquals("6 queue_if_no_path pg_init_delay_msecs 100 retain_attached_hw_handler queue_mode bio 0 1 1 round-robin 0 1 1 /p/a 1 ",
                build("5 pg_init_delay_msecs 100 queue_if_no_path queue_mode bio 0 1 1 round-robin 0 1 0 /p/a").status(StatusType.TABLE));
    }

    @Test
    void repeatCountAboveOneIsForcedToOneLikeTheKernel() {
        assertEquals("0 0 1 1 round-robin 0 1 1 /p/a 1 ", build("0 0 1 1 round-robin 0 1 1 /p/a 1000").status(StatusType.TABLE));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "|not enough arguments: missing number of feature arguments",
        "x 0 1 1 round-robin 0 1 0 /p/a|invalid number of feature arguments 'x'",
        "3 queue_if_no_path 0 1 1 round-robin 0 1 0 /p/a|unrecognised feature '0'",
        "11 queue_if_no_path|invalid number of feature arguments '11' (at most 10)",
        "1 queue_if_no_pathx 0 1 1 round-robin 0 1 0 /p/a|unrecognised feature 'queue_if_no_pathx'",
        "2 pg_init_retries 51 0 1 1 round-robin 0 1 0 /p/a|invalid pg_init_retries '51' (expected 1..50)",
        "2 pg_init_retries 0 0 1 1 round-robin 0 1 0 /p/a|invalid pg_init_retries '0' (expected 1..50)",
        "2 pg_init_delay_msecs 60001 0 1 1 round-robin 0 1 0 /p/a|invalid pg_init_delay_msecs '60001'",
        "2 queue_mode xx 0 1 1 round-robin 0 1 0 /p/a|unknown queue_mode 'xx'",
        "1 pg_init_retries 0 1 1 round-robin 0 1 0 /p/a|not enough arguments: missing pg_init_retries",
        "0 1 foo 1 1 round-robin 0 1 0 /p/a|unknown hardware handler 'foo'",
        "0 0 2 1 round-robin 0 1 0 /p/a|not enough arguments for number of priority groups 2",
        "0 0 1 0 round-robin 0 1 0 /p/a|invalid initial priority group '0' (expected 1..1)",
        "0 0 0 1|invalid initial priority group '1' (expected 0 with no groups)",
        "0 0 1 1 random 0 1 0 /p/a|unknown path selector 'random'",
        "0 0 1 1 round-robin 1 x 1 0 /p/a|round-robin takes no selector arguments, got 1",
        "0 0 1 1 round-robin 0 0 0 /p/a|invalid number of paths '0' in group 1",
        "0 0 1 1 round-robin 0 2 0 /p/a|not enough arguments for 2 paths with 0 selector arguments each in group 1",
        "0 0 1 1 round-robin 0 1 2 /p/a 1 1|round-robin takes at most 1 argument per path, got 2",
        "0 0 1 1 service-time 0 1 3 /p/a 1 1 1|service-time takes at most 2 arguments per path, got 3",
        "0 0 1 1 service-time 0 1 2 /p/a 1 101|invalid service-time relative_throughput '101' (expected 0..100)",
        "0 0 1 1 round-robin 0 1 1 /p/a 1x|invalid round-robin repeat_count '1x'",
        "0 0 1 1 round-robin 0 1 1 /p/a -1|invalid round-robin repeat_count '-1'",
        "0 0 1 1 round-robin 0 2 1 /p/a 1 /p/b|not enough arguments for 2 paths with 1 selector arguments each",
        "0 0 1 1 round-robin 0 1 0 /p/a extra|too many arguments: unexpected 'extra'",
        "0 0 1 1 round-robin 0 1 0 /p/nope|no such device",
    })
    void badTablesAreRefusedWithASpecificMessage(String input, String expected) {
        DmException e = assertThrows(DmException.class, () -> build(input == null ? "" : input));
        assertTrue(e.getMessage().startsWith("multipath: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
    }

    @Test
    void pathSmallerThanTheTargetIsRefused() {
        ctx.device(new MemoryDevice("/p/small", new byte[8 * 512]));
        TableException e = assertThrows(TableException.class, () -> build("0 0 1 1 round-robin 0 1 0 /p/small"));
        assertEquals("multipath: path '/p/small' has 8 sectors, fewer than the target's 16", e.getMessage());
    }

    @Test
    void aPathWhoseServerIsDownLoadsAsFailedWhileAMissingOneIsRefused() {
        ctx.unopenable("nbd://127.0.0.1:1/x", Errno.ECONNREFUSED);
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a nbd://127.0.0.1:1/x");
        assertEquals("2 1 0 0 1 1 E 0 2 0 /p/a A 0 nbd://127.0.0.1:1/x F 0 ", t.status(StatusType.INFO));
        assertEquals(1, t.validPaths());
        // every path down: refused with the open error
        DmException e = assertThrows(DmException.class, () -> build("0 0 1 1 round-robin 0 1 0 nbd://127.0.0.1:1/x"));
        assertEquals(Errno.ECONNREFUSED, e.errno());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0 0 1 1 round-robin 0 1 0", "0 0 1 1", "0 0 1"})
    void truncatedTablesNameWhatIsMissing(String input) {
        DmException e = assertThrows(DmException.class, () -> build(input));
        assertTrue(e.getMessage().contains("not enough arguments"), e.getMessage());
    }
}
