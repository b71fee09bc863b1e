package org.ddmapper.api.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes the dmsetup command line every front end parses ({@link CommandLine#parse}; ddlink's CLI
 * op takes it from any peer): the input is the argv, words separated by NUL bytes, as the native
 * ddsetup sends it. A refusal is a {@link UsageException} with a sentence; a command that parses
 * writes back ({@link Command#toArgs}) to a line that parses to the same command. Seeds cover the
 * {@code stats} verb and the views (multipath, snapshots, mirror).
 */
class CommandLineFuzzTest {

    @FuzzTest
    void commandLine(byte[] input) {
        List<String> argv = Arrays.asList(new String(input, StandardCharsets.UTF_8).split("\0", -1));
        Command c;
        try {
            c = CommandLine.parse(argv);
        } catch (UsageException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "no sentence for " + argv);
            return;
        }
        assertEquals(c, CommandLine.parse(c.toArgs()), argv + " -> " + c.toArgs());
    }
}
