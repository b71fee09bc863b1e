package org.ddmapper.spi.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetType;

/**
 * What every target type's table fuzzer checks (a {@code @FuzzTest} per type calls
 * {@link #check}). The input is the text {@code <length> <args...>}: a table line without its
 * start and type. Devices {@code /a}, {@code /b}, {@code /c} (4096 sectors each) and {@code /4k} (a
 * 4096-byte logical block) exist; any other reference is refused as a missing device.
 * <ul>
 * <li>a refused line throws {@link DmException} (TableException is one) whose message names the
 * type first ({@code "striped: ..."}), is one line of printable text and stays short;</li>
 * <li>an accepted line gives a target whose TABLE text builds the same target again (same TABLE
 * and INFO text): the round trip {@code table} output promises;</li>
 * <li>nothing else may escape: an IndexOutOfBounds, NullPointer or Arithmetic exception is a finding.</li>
 * </ul>
 */
public final class TableFuzz {
    /** Longest error message a refused line may produce (words in it are abbreviated). */
    public static final int MAX_ERROR_CHARS = 1024;
    /** Size of each named device. */
    public static final long DEVICE_SECTORS = 4096;

    private TableFuzz() {}

    /** The devices a fuzzed line may name. */
    public static BlockDevice[] devices() {
        return new BlockDevice[] {new MemoryDevice("/a", DEVICE_SECTORS), new MemoryDevice("/b", DEVICE_SECTORS),
            new MemoryDevice("/c", DEVICE_SECTORS), new MemoryDevice("/4k", DEVICE_SECTORS).logicalBlockBytes(4096)};
    }

    /** Checks one fuzzer input against {@code type} (see the class comment). */
    public static void check(Supplier<TargetType> type, byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        List<String> words;
        try {
            words = TableLine.splitWords(text);
        } catch (DmException e) {
            return; // the line itself is malformed: TableLine's fuzzer covers that
        }
        if (words.isEmpty()) return;
        long length = TableLine.parseUnsigned(words.get(0));
        if (length <= 0) return;
        String args = escaped(words.subList(1, words.size()));
        TargetType t = type.get();
        String table;
        String info;
        try (FakeTargetContext context = new FakeTargetContext(length, devices())) {
            Target target;
            try {
                target = t.create(context, context.args(t.name(), args));
            } catch (DmException e) {
                assertRefusal(t.name(), e);
                return;
            }
            try {
                table = target.status(StatusType.TABLE);
                info = target.status(StatusType.INFO);
            } finally {
                target.destroy();
            }
        }
        try (FakeTargetContext again = new FakeTargetContext(length, devices())) {
            Target rebuilt;
            try {
                rebuilt = t.create(again, again.args(t.name(), table));
            } catch (DmException e) {
                throw new AssertionError(t.name() + " " + args + ": its table text '" + table + "' does not parse back: " + e.getMessage(), e);
            }
            try {
                assertEquals(table, rebuilt.status(StatusType.TABLE), "table text after a round trip of '" + args + "'");
                assertEquals(info, rebuilt.status(StatusType.INFO), "status text after a round trip of '" + args + "'");
            } finally {
                rebuilt.destroy();
            }
        }
    }

    /** A refusal names the type first and is one short line of printable text. */
    public static void assertRefusal(String type, DmException e) {
        String message = e.getMessage();
        if (message == null) fail(type + ": refusal without a message", e);
        assertTrue(message.startsWith(type + ": "), () -> "refusal does not name the type first: '" + message + "'");
        assertTrue(message.length() <= MAX_ERROR_CHARS, () -> "refusal of " + message.length() + " characters");
        assertTrue(message.chars().noneMatch(Character::isISOControl), () -> "control character in refusal '" + message + "'");
    }

    private static String escaped(List<String> words) {
        StringBuilder sb = new StringBuilder();
        for (String w : words) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(TableLine.escape(w));
        }
        return sb.toString();
    }
}
