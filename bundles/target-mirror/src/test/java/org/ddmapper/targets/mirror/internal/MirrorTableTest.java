package org.ddmapper.targets.mirror.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.ddmapper.api.Errno;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The table grammar against what Debian's 6.1 kernel answered for the same lines (its dmesg
 * reasons, checked with tests/kernel/kdm-vm.sh): 8 MiB legs /a and /b, a 1 MiB log /log.
 */
class MirrorTableTest {
    static final long LENGTH = 16384;
    private final FakeTargetContext context = new FakeTargetContext(LENGTH, new MemoryDevice("/a", LENGTH), new MemoryDevice("/b", LENGTH),
            new MemoryDevice("/c", LENGTH), new MemoryDevice("/log", 2048), new MemoryDevice("/small", 2));

    @AfterEach
    void close() { context.close(); }

    private Mirror build(String words) {
        return Mirror.create(context, context.args("mirror", words));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "core 1 1024 2 /a 0 /b 0 | core 1 1024 2 /a 0 /b 0",
            "core 2 1024 nosync 2 /a 0 /b 0 1 handle_errors | core 2 1024 nosync 2 /a 0 /b 0 1 handle_errors",
            "disk 2 /log 1024 2 /a 0 /b 0 2 handle_errors keep_log | disk 2 /log 1024 2 /a 0 /b 0 2 handle_errors keep_log",
            "disk 3 /log 1024 sync 2 /a 0 /b 0 | disk 3 /log 1024 sync 2 /a 0 /b 0",
            "core 1 1024 2 /a 0 /b 0 2 handle_errors handle_errors | core 1 1024 2 /a 0 /b 0 1 handle_errors",
            "core 1 1024 2 /a 0 /b 0 2 keep_log handle_errors | core 1 1024 2 /a 0 /b 0 2 handle_errors keep_log",
            "core 1 1024 2 /a 0 /b 0 0 | core 1 1024 2 /a 0 /b 0",
            "core 1 1024 2 /a 0 /a 0 | core 1 1024 2 /a 0 /a 0",
            "core 1 0001024 3 /a 0 /b 0 /c 0 | core 1 1024 3 /a 0 /b 0 /c 0",
            "disk 2 /log 2 2 /a 0 /b 0 | disk 2 /log 2 2 /a 0 /b 0",
            "core 2 1024 block_on_error 2 /a 0 /b 0 | core 2 1024 block_on_error 2 /a 0 /b 0",
            "core 3 1024 nosync block_on_error 2 /a 0 /b 0 | core 3 1024 nosync block_on_error 2 /a 0 /b 0",
            "disk 4 /log 1024 sync block_on_error 2 /a 0 /b 0 1 handle_errors | disk 4 /log 1024 sync block_on_error 2 /a 0 /b 0 1 handle_errors",
    })
    void acceptedLinesPrintTheKernelsTableText(String words, String table) {
        Mirror m = build(words);
        assertEquals(table, m.status(StatusType.TABLE));
        // and that text builds the same mirror again
        assertEquals(table, build(table).status(StatusType.TABLE));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "core 1 1000 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size 1000",
            "core 1 1 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size 1",
            "core 1 0 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size 0",
            "core 1 32768 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size 32768",
            "core 1 1024x 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size 1024x",
            "core 1 -1024 2 /a 0 /b 0 | Error creating mirror dirty log: invalid region size -1024",
            "core 2 1024 bogus 2 /a 0 /b 0 | Error creating mirror dirty log: unrecognised sync argument to dirty region log: bogus",
            "core 3 1024 block_on_error nosync 2 /a 0 /b 0 | Error creating mirror dirty log: unrecognised sync argument to dirty region log: block_on_error",
            "core 0 2 /a 0 /b 0 | Error creating mirror dirty log: wrong number of arguments to dirty region log",
            "core 5 1024 2 /a 0 /b 0 | Error creating mirror dirty log: wrong number of arguments to dirty region log",
            "core x 1024 2 /a 0 /b 0 | Invalid mirror log argument count",
            "core | Insufficient mirror log arguments",
            "core 9 1024 | Insufficient mirror log arguments",
            "foo 1 1024 2 /a 0 /b 0 | Error creating mirror dirty log: Module for logging type \"foo\" not found.",
            "core 1 1024 1 /a 0 | Invalid number of mirrors",
            "core 1 1024 10 /a 0 /b 0 | Invalid number of mirrors",
            "core 1 1024 0 | Invalid number of mirrors",
            "core 1 1024 | Invalid number of mirrors",
            "core 1 1024 2 /a 0 | Too few mirror arguments",
            "core 1 1024 2 /a 0 /b x | Invalid offset",
            "core 1 1024 2 /a 0 /b 0 1 | Not enough arguments to support feature count",
            "core 1 1024 2 /a 0 /b 0 1 keep_log | keep_log feature requires the handle_errors feature",
            "core 1 1024 2 /a 0 /b 0 1 handle_error | Unrecognised feature requested",
            "core 1 1024 2 /a 0 /b 0 1 handle_errors x | Too many mirror arguments",
            "core 1 1024 2 /a 0 /b 0 x handle_errors | Invalid number of features",
            "core 1 1024 2 /a 0 /b 8 | device '/b' too small: offset 8 + length 16384 > size 16384 sectors",
            "disk 1 /log 2 2 /a 0 /b 0 | Error creating mirror dirty log: wrong number of arguments to disk dirty region log",
            "disk 2 /small 2 2 /a 0 /b 0 | Error creating mirror dirty log: log device /small too small: need 2048 bytes",
    })
    void refusedLinesCarryTheKernelsReason(String words, String reason) {
        TableException e = assertThrows(TableException.class, () -> build(words));
        assertEquals("mirror: " + reason, e.getMessage());
        assertEquals(Errno.EINVAL, e.errno());
    }

    @Test
    void aLegOrLogThatDoesNotOpenIsNamed() {
        TableException leg = assertThrows(TableException.class, () -> build("core 1 1024 2 /a 0 /nope 0"));
        assertEquals("mirror: Device lookup failure: '/nope': no such device", leg.getMessage());
        assertEquals(Errno.ENODEV, leg.errno());
        TableException log = assertThrows(TableException.class, () -> build("disk 2 /nolog 1024 2 /a 0 /b 0"));
        assertEquals("mirror: Error creating mirror dirty log: log device: '/nolog': no such device", log.getMessage());
    }

    @Test
    void tooManyRegionsForTheBitmapsIsRefusedWithTheSizeThatFits() {
        try (FakeTargetContext huge = new FakeTargetContext(1L << 30, new MemoryDevice("/a", 8), new MemoryDevice("/b", 8))) {
            TableException e = assertThrows(TableException.class, () -> Mirror.create(huge, huge.args("mirror", "core 1 2 2 /a 0 /b 0")));
            TableException kernel = assertThrows(TableException.class,
                    () -> Mirror.create(new FakeTargetContext(1L << 40, new MemoryDevice("/a", 8), new MemoryDevice("/b", 8)),
                            new FakeTargetContext(1L << 40).args("mirror", "core 1 2 2 /a 0 /b 0")));
            assertEquals("mirror: Error creating mirror dirty log: region count exceeds limit of 4294967295", kernel.getMessage());
            assertTrue(e.getMessage().contains("more than the 67108864 ddmapper keeps bitmaps for; use a region size of at least 16"),
                    e.getMessage());
        }
    }
}
