package org.ddmapper.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Fuzzes the table text every table passes through ({@link TableLine#parseTable}, the kernel's
 * word splitting): a refusal is an EINVAL whose message is one line of text (tabs of the quoted line
 * aside, no control characters) naming the line; an accepted table prints back ({@code toString}, {@code escape}) to text that parses to the
 * same lines.
 */
class TableLineFuzzTest {

    @FuzzTest
    void table(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        List<TableLine> lines;
        try {
            lines = TableLine.parseTable(text);
        } catch (DmException e) {
            assertEquals(Errno.EINVAL, e.errno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("line ") || e.getMessage().startsWith("table "), e.getMessage());
            assertTrue(e.getMessage().chars().noneMatch(c -> c != '\t' && Character.isISOControl(c)), e.getMessage());
            return;
        }
        StringBuilder printed = new StringBuilder();
        for (TableLine l : lines) printed.append(l).append('\n');
        assertEquals(lines, TableLine.parseTable(printed.toString()), "table printed as\n" + printed);
        for (TableLine l : lines) assertEquals(l.args(), TableLine.splitWords(l.argsText()), l.argsText());
    }
}
