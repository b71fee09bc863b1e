package org.ddmapper.targets.multipath.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Message;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.spi.testkit.TableFuzz;

/**
 * Fuzzes multipath's messages (input: the message words, split as {@code ddsetup message} splits
 * them) against a map of two groups: a refused message is a DmException naming the target that
 * changes nothing (same status, no event); an accepted one leaves a map whose table still parses back.
 */
class MessageFuzzTest {

    @FuzzTest
    void message(byte[] input) {
        List<String> words;
        try {
            words = TableLine.splitWords(new String(input, StandardCharsets.UTF_8));
        } catch (DmException e) {
            return;
        }
        byte[] disk = new byte[16 * 512];
        try (FakeTargetContext ctx = new FakeTargetContext(16)) {
            ctx.device(new MemoryDevice("/p/a", disk)).device(new MemoryDevice("/p/b", disk)).device(new MemoryDevice("/p/c", disk));
            MultipathTarget map = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, "0 0 2 1 round-robin 0 2 0 /p/a /p/b round-robin 0 1 0 /p/c"), null);
            try {
                map.resume();
                String before = map.status(StatusType.INFO);
                try {
                    map.message(new Message(words, null, null, 0));
                } catch (DmException e) {
                    TableFuzz.assertRefusal("multipath", e);
                    assertEquals(before, map.status(StatusType.INFO), "status after the refused message " + words);
                    assertTrue(ctx.events().isEmpty(), () -> "events after the refused message " + words + ": " + ctx.events());
                    return;
                }
                String table = map.status(StatusType.TABLE);
                MultipathTarget again = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, table), null);
                assertEquals(table, again.status(StatusType.TABLE));
                again.destroy();
            } finally {
                map.destroy();
            }
        }
    }
}
