package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed tables: each refused with its specific error, in bounded time, and nothing changes —
 * not the device's info, event count or either slot, and no device stays opened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class TableNegativesTest {
    @TempDir static Path dir;
    static String F;
    CoreFixture fx;
    DeviceManager dm;
    final DeviceRef victim = DeviceRef.of("victim");

    @BeforeAll
    void start() throws Exception {
        fx = new CoreFixture(EmbeddedFramework.start(), dir);
        dm = fx.dm;
        F = fx.file("neg.img", 4096).toString();
        Waits.awaitTypes(dm, "flakey", "delay");
        dm.create("lower", "0 4096 linear " + F + " 0");
        dm.create("victim", "0 1024 linear " + F + " 0");
        dm.load(victim, "0 512 linear " + F + " 512");
    }

    @AfterAll
    void stop() { fx.close(); }

    static Stream<Arguments> tables() {
        String f = "@F";
        return Stream.of(
                Arguments.of("gap", "0 100 linear " + f + " 0\n200 100 linear " + f + " 0",
                        "line 2: gap in table: target starts at sector 200, expected 100"),
                Arguments.of("overlap", "0 100 linear " + f + " 0\n50 100 linear " + f + " 0",
                        "line 2: overlap in table: target starts at sector 50 but the previous one ends at 100"),
                Arguments.of("first target not at 0", "10 100 linear " + f + " 0",
                        "line 1: the first target must start at sector 0, not 10"),
                Arguments.of("zero length", "0 0 linear " + f + " 0", "line 1: zero-length target"),
                Arguments.of("unknown type", "0 100 nosuch " + f + " 0", "line 1: unknown target type 'nosuch'"),
                Arguments.of("trailing garbage in length", "0 100x linear " + f + " 0", "line 1: invalid length '100x'"),
                Arguments.of("trailing garbage in offset", "0 100 linear " + f + " 12x", "line 1: linear: invalid offset '12x'"),
                Arguments.of("exponent", "0 1e3 linear " + f + " 0", "line 1: invalid length '1e3'"),
                Arguments.of("hex", "0 100 linear " + f + " 0x10", "line 1: linear: invalid offset '0x10'"),
                Arguments.of("overflow of 2^64", "0 18446744073709551616 linear " + f + " 0",
                        "line 1: invalid length '18446744073709551616'"),
                Arguments.of("overflow in an argument", "0 100 linear " + f + " 18446744073709551616",
                        "line 1: linear: invalid offset '18446744073709551616'"),
                Arguments.of("end overflows", "0 9223372036854775807 linear " + f + " 0\n9223372036854775807 1 linear " + f + " 0",
                        "line 2: target end overflows the sector range"),
                Arguments.of("negative", "-1 100 linear " + f + " 0", "line 1: invalid start sector '-1'"),
                Arguments.of("plus sign", "0 +5 linear " + f + " 0", "line 1: invalid length '+5'"),
                Arguments.of("digits after leading zeros overflow", "0 100 linear " + f + " 009223372036854775808",
                        "line 1: linear: invalid offset '009223372036854775808'"),
                Arguments.of("extra tokens", "0 100 linear " + f + " 0 extra", "line 1: linear: too many arguments: unexpected 'extra'"),
                Arguments.of("missing argument", "0 100 linear " + f, "line 1: linear: not enough arguments: missing offset"),
                Arguments.of("too few words", "0 100", "line 1: a table line needs <start> <length> <type>, got '0 100'"),
                Arguments.of("count that lies", "0 96 striped 3 8 " + f + " 0",
                        "line 1: striped: not enough arguments for 3 stripes (2 of 6 words)"),
                Arguments.of("chunk size 0", "0 96 striped 3 0 " + f + " 0 " + f + " 96 " + f + " 192",
                        "line 1: striped: invalid chunk size '0' (at least 1 sector)"),
                Arguments.of("stripes overlapping on one device", "0 96 striped 3 8 " + f + " 0 " + f + " 96 " + f + " 100",
                        "line 1: striped: stripes 1 and 2 overlap on device '" + f + "' (offsets 96 and 100, 32 sectors each)"),
                Arguments.of("unknown flakey feature", "0 100 flakey " + f + " 0 0 3600 1 drop_write",
                        "line 1: flakey: unknown feature 'drop_write' (Linux 6.1's flakey has drop_writes, error_writes, corrupt_bio_byte)"),
                Arguments.of("flakey feature count that lies", "0 100 flakey " + f + " 0 0 3600 2 drop_writes",
                        "line 1: flakey: not enough arguments for feature count 2 (1 words left)"),
                Arguments.of("delay with 4 arguments", "0 100 delay " + f + " 0 10 " + f,
                        "line 1: delay: requires exactly 3, 6 or 9 arguments, got 4"),
                Arguments.of("missing file", "0 100 linear /nonexistent/dir/disk.img 0",
                        "line 1: linear: '/nonexistent/dir/disk.img': no such file or block device"),
                Arguments.of("relative path", "0 100 linear disk.img 0",
                        "line 1: linear: 'disk.img': not an absolute path, an nbd:// URI or dm:NAME"),
                Arguments.of("unknown scheme", "0 100 linear iscsi://x/y 0",
                        "line 1: linear: 'iscsi://x/y': no provider for scheme 'iscsi' is registered"),
                Arguments.of("missing mapped device", "0 100 linear dm:nosuch 0", "line 1: linear: 'dm:nosuch': no such mapped device"),
                Arguments.of("self reference", "0 100 linear dm:victim 0", "line 1: linear: 'dm:victim': a device cannot stack on itself"),
                Arguments.of("control character", "0 100 linear " + f + "\u0001 0", "line 1: control character 0x1 in table line"),
                Arguments.of("NUL", "0 100 linear " + f + "\u0000 0", "line 1: control character 0x0 in table line"),
                Arguments.of("escape at the end", "0 100 linear " + f + " 0\\", "line 1: table line ends with a lone backslash"),
                Arguments.of("no targets", "# only a comment\n\n", "table has no targets"),
                Arguments.of("second line fails after the first opened a device", "0 100 linear dm:lower 0\n100 100 linear dm:lower 1x",
                        "line 2: linear: invalid offset '1x'"),
                Arguments.of("too small device", "0 100 linear dm:lower 4000",
                        "line 1: linear: device 'dm:lower' too small: offset 4000 + length 100 > size 4096 sectors"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tables")
    void refusedWithItsErrorAndNothingChanges(String what, String table, String expected) {
        String text = table.replace("@F", F);
        DmException e = assertUnchanged(() -> dm.load(victim, text));
        assertEquals(expected.replace("@F", F), e.getMessage(), what);
        if (!text.contains("dm:victim")) assertUnchanged(() -> dm.create("fresh", text));
        assertTrue(dm.list().stream().noneMatch(i -> i.name().equals("fresh")), "a refused create leaves no device");
    }

    @Test
    void numbersWithLeadingZerosReadAsTheKernelReadsThem() {
        DeviceInfo info = dm.create("zeros", "000 0100 linear " + F + " 007\n100 0108 striped 03 012 " + F + " 0200 " + F + " 00296 "
                + F + " 392");
        assertEquals(208, info.sizeSectors());
        assertEquals(List.of("0 100 linear " + F + " 7", "100 108 striped 3 12 " + F + " 200 " + F + " 296 " + F + " 392"),
                dm.table(DeviceRef.of("zeros"), false).stream().map(TargetStatus::toString).toList(), "the table prints them plainly");
        dm.remove(DeviceRef.of("zeros"), false);
    }

    @Test
    void missingFileIsEnodev() {
        DmException e = assertUnchanged(() -> dm.load(victim, "0 100 linear " + dir.resolve("absent.img") + " 0"));
        assertEquals(Errno.ENODEV, e.errno());
    }

    @Test
    void hugeInputIsRefusedInBoundedTime() {
        String longLine = "0 100 linear " + F + " 0 " + "x".repeat(1 << 20);
        assertEquals("line 1: table line longer than 65536 characters", timed(() -> dm.load(victim, longLine)).getMessage());
        String manyWords = "0 100 linear " + " a".repeat(30_000);
        assertEquals("line 1: table line has more than 4096 words", timed(() -> dm.load(victim, manyWords)).getMessage());
        StringBuilder manyLines = new StringBuilder();
        for (int i = 0; i <= 10_000; i++) manyLines.append(i).append(" 1 linear ").append(F).append(" 0\n");
        assertEquals("table has more than 10000 lines", timed(() -> dm.load(victim, manyLines.toString())).getMessage());
    }

    @Test
    void unknownTypeDeepInABigTableClosesEverythingItOpened() {
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < 2000; i++) t.append(i).append(" 1 linear dm:lower ").append(i).append('\n');
        t.append("2000 1 zzz\n");
        assertEquals("line 2001: unknown target type 'zzz'", timed(() -> dm.load(victim, t.toString())).getMessage());
        StringBuilder u = new StringBuilder();
        for (int i = 0; i < 2000; i++) u.append(i).append(" 1 linear dm:lower ").append(i).append('\n');
        u.append("2000 1 linear dm:lower x\n");
        assertEquals("line 2001: linear: invalid offset 'x'", timed(() -> dm.load(victim, u.toString())).getMessage());
        assertEquals(0, dm.info(DeviceRef.of("lower")).openCount(), "the 2000 opened devices were closed again");
    }

    private DmException timed(org.junit.jupiter.api.function.Executable verb) {
        long start = System.nanoTime();
        DmException e = assertUnchanged(verb);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis < 3000, "refused in " + millis + " ms");
        return e;
    }

    private DmException assertUnchanged(org.junit.jupiter.api.function.Executable verb) {
        DeviceInfo info = dm.info(victim);
        List<TargetStatus> live = dm.table(victim, false);
        List<TargetStatus> inactive = dm.table(victim, true);
        int lowerOpeners = dm.info(DeviceRef.of("lower")).openCount();
        DmException e = assertThrows(DmException.class, verb);
        assertEquals(info, dm.info(victim), "info and event count unchanged");
        assertEquals(live, dm.table(victim, false));
        assertEquals(inactive, dm.table(victim, true));
        assertEquals(lowerOpeners, dm.info(DeviceRef.of("lower")).openCount(), "no device left open");
        return e;
    }
}
