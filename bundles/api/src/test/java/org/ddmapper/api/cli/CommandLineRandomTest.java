package org.ddmapper.api.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The command line parser fed seeded random command lines built from dmsetup's vocabulary, its
 * options in every spelling, and junk: each line parses or is refused with a UsageException
 * (never any other exception), and what parses writes back ({@link Command#toArgs}) to a line
 * that parses to the same command. A plain JUnit randomized test (no fuzzing engine on the
 * build yet); a failure prints the seed and the line.
 */
class CommandLineRandomTest {
    private static final String[] VERBS = {"create", "load", "reload", "clear", "suspend", "resume", "remove", "remove_all",
            "rename", "message", "status", "table", "info", "ls", "deps", "targets", "version", "mknodes", "help", "wait", "events",
            "upgrade", "multipath", "snapshots", "mirror", "stats", "frob", "", "-", "--"};
    private static final String[] OPTIONS = {"-c", "-C", "--columns", "-o", "--options", "-O", "--sort", "--noheadings",
            "--separator", "--target", "--tree", "--inactive", "--noflush", "--nolockfs", "-f", "--force", "--retry", "--table",
            "-n", "--notable", "-v", "--verbose", "--count", "-h", "--help", "--version", "--noudevsync", "--udevcookie", "-y",
            "-u", "--uuid", "-j", "-S", "--rows", "--pass-fd", "--pass-connect", "--pass-unix", "--frob", "-x", "-cv", "--target=",
            "--sort=-name", "-oname", "--noflush=1", "--list", "--revert", "--"};
    private static final String[] WORDS = {"a", "b", "mp", "-a", "", " ", "x y", "ünï", "@1", "@", "@x", "0", "12", "99999999999999999999",
            "name", "+events", "name,events", "name,,", "blkdevname", "name_all,deps_all", "-name,events", "+", "h:1", "h:x", ":",
            "/s", "0 8 zero", "0 8 zero\n8 8 error", "show", "paths", "topology", "-ll", "fail_path", "-", "t.table", "3"};

    @Test
    void randomCommandLinesParseOrAreRefusedAndRoundTrip() {
        long seed = Long.getLong("cli.seed", 20261207L);
        Random random = new Random(seed);
        int parsed = 0;
        for (int i = 0; i < 50_000; i++) {
            List<String> argv = new ArrayList<>();
            int n = random.nextInt(8);
            if (random.nextInt(4) > 0) argv.add(VERBS[random.nextInt(VERBS.length)]);
            for (int k = 0; k < n; k++) {
                int pick = random.nextInt(10);
                if (pick < 4) argv.add(OPTIONS[random.nextInt(OPTIONS.length)]);
                else if (pick < 9) argv.add(WORDS[random.nextInt(WORDS.length)]);
                else argv.add(junk(random));
            }
            Command c;
            try {
                c = CommandLine.parse(argv);
            } catch (UsageException e) {
                if (e.getMessage() == null || e.getMessage().isBlank()) fail("seed " + seed + ": no sentence for " + argv);
                continue;
            } catch (RuntimeException e) {
                throw new AssertionError("seed " + seed + ", line " + i + ": " + argv + " threw " + e, e);
            }
            parsed++;
            try {
                assertEquals(c, CommandLine.parse(c.toArgs()), "seed " + seed + ": " + argv + " -> " + c.toArgs());
            } catch (UsageException e) {
                throw new AssertionError("seed " + seed + ": " + argv + " -> " + c.toArgs() + " no longer parses: " + e.getMessage(), e);
            }
        }
        if (parsed < 2_000) fail("only " + parsed + " of the random lines parsed: the generator explores too little");
    }

    private static String junk(Random random) {
        StringBuilder sb = new StringBuilder();
        int len = random.nextInt(6);
        for (int i = 0; i < len; i++) sb.append((char) (random.nextInt(4) == 0 ? random.nextInt(0x3000) : 32 + random.nextInt(95)));
        return sb.toString();
    }
}
