package org.ddmapper.targets.mirror.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.ddmapper.targets.mirror.internal.LogSpec.SyncMode;

/**
 * Fuzzes the disk log's reader as a mirror's resume runs it (header, ddmapper's stale-leg record,
 * clean bitmap): a log device can hold anything — a torn log, another program's data, a hostile
 * image. The first three bytes of an input choose the table's region count (1..65536) and its sync
 * mode; the rest is what the log device holds (shorter than the log, or longer). Whatever it is, the
 * reader answers with an outcome and, when it did not simply load a log, a note saying what it
 * found; an incompatible version marks every region out of sync; the answer stays within the
 * table's regions; a loaded log written back reads back the same; nothing escapes, nothing hangs.
 */
class DiskLogFuzzTest {

    @FuzzTest
    void resume(byte[] input) {
        if (input.length < 3) return;
        long regions = 1 + ((input[0] & 0xff) | (input[1] & 0xff) << 8);
        SyncMode sync = SyncMode.values()[(input[2] & 0xff) % 3];
        ByteBuffer image = ByteBuffer.wrap(Arrays.copyOfRange(input, 3, input.length));

        DiskLogFormat.Loaded loaded = DiskLogFormat.load(image, regions, sync);
        assertNotNull(loaded.outcome());
        long clean = loaded.clean().count();
        assertTrue(clean >= 0 && clean <= regions, "clean count " + clean + " of " + regions + " regions");
        assertEquals(-1, loaded.clean().nextClear(regions), "nothing past the table's regions");
        assertTrue(loaded.staleLegs().size() <= MirrorTable.MAX_LEGS, "at most " + MirrorTable.MAX_LEGS + " stale legs");
        switch (loaded.outcome()) {
            case INCOMPATIBLE -> {
                assertTrue(loaded.note().contains("incompatible disk log version"), loaded.note());
                assertEquals(0, clean, "an incompatible log leaves every region to resync");
            }
            case NEW -> assertEquals(sync == SyncMode.NOSYNC ? regions : 0, clean);
            case LOADED -> assertEquals(SyncMode.DEFAULT, sync, "only a table without sync/nosync trusts the log");
        }
        if (image.limit() < DiskLogFormat.BITMAP_OFFSET + DiskLogFormat.bitmapBytes(regions))
            assertTrue(loaded.note() != null && loaded.note().startsWith("log image holds "), "a short image is said so: " + loaded.note());

        // what a resumed mirror writes back (the table's count, its stale legs, its clean bits) loads as the same log
        ByteBuffer written = ByteBuffer.allocate((int) DiskLogFormat.bufferBytes(regions, 512));
        written.put(image.duplicate().limit(Math.min(image.limit(), written.capacity()))).clear();
        DiskLogFormat.store(written, regions, loaded.staleLegs(), loaded.clean());
        DiskLogFormat.Loaded again = DiskLogFormat.load(written, regions, SyncMode.DEFAULT);
        assertEquals(DiskLogFormat.Outcome.LOADED, again.outcome(), again.note());
        assertEquals(loaded.staleLegs(), again.staleLegs());
        assertEquals(clean, again.clean().count());
        for (long r = loaded.clean().nextClear(0); r >= 0; r = loaded.clean().nextClear(r + 1))
            assertTrue(!again.clean().get(r), "region " + r + " stays dirty after a round trip");
    }
}
