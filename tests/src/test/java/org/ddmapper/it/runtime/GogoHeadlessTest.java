package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gogo commands run headless against the running appliance: {@code bin/ddmapper --exec COMMAND} runs
 * each through a CommandProcessor session of the booted framework, before the ready line.
 */
@Timeout(180)
class GogoHeadlessTest {

    /** {@code scr:list}: a component line, then its instances' states. */
    private static final Pattern COMPONENT = Pattern.compile(
            "^(\\S+) in bundle \\d+ \\((\\S+):\\S+\\) (\\w+), \\d+ instances?\\.\\n((?:\\s+Id: .*\\n)*)", Pattern.MULTILINE);
    private static final Pattern INSTANCE_STATE = Pattern.compile("State:(\\w+)");

    @TempDir
    Path home;

    @Test
    void commandsPrintTheirOutputAndEveryComponentIsSatisfied() throws Exception {
        try (Appliance appliance = Appliance.start(home, "--http", "127.0.0.1:0",
                "--exec", "echo headless gogo",
                "--exec", "lb -s org.ddmapper.core",
                "--exec", "scr:list")) {
            String before = appliance.output().substring(0, appliance.output().indexOf("ddmapper ready: "));
            assertTrue(before.startsWith("headless gogo\n"), before);

            Map<String, String> core = DistributionBundles.parseLb(before);
            assertEquals(Map.of("org.ddmapper.core", "Active"), core, before);

            // Every Declarative Services component of every bundle is enabled and active or satisfied:
            // none waits for a missing reference or failed to activate.
            Map<String, DistributionBundles.Jar> jars = DistributionBundles.read(Appliance.distribution());
            List<String> bundlesWithComponents = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            Matcher m = COMPONENT.matcher(before);
            while (m.find()) {
                bundlesWithComponents.add(m.group(2));
                Matcher state = INSTANCE_STATE.matcher(m.group(4));
                if (!m.group(3).equals("enabled")) {
                    problems.add(m.group(1) + " is " + m.group(3));
                }
                while (state.find()) {
                    if (!state.group(1).equals("ACTIVE") && !state.group(1).equals("SATISFIED")) {
                        problems.add(m.group(1) + " is " + state.group(1));
                    }
                }
            }
            assertEquals(List.of(), problems, before);
            for (DistributionBundles.Jar jar : jars.values()) {
                assertEquals(jar.declaresComponents(), bundlesWithComponents.contains(jar.symbolicName()),
                        jar.symbolicName() + " in scr:list:\n" + before);
            }
            appliance.stop();
        }
    }

    @Test
    void aFailingCommandStopsTheBootWithOneLineAndNoProcessLeft() throws Exception {
        Appliance.Exit exit = Appliance.run(home, Duration.ofSeconds(90), "--exec", "echo first", "--exec", "no:such");
        assertEquals(1, exit.code(), exit.toString());
        assertEquals("ddmapper: --exec 'no:such': Command not found: no:such\n", exit.stderr());
        assertEquals("first\n", exit.stdout(), "no ready line after a failed --exec");
    }

    @Test
    void stopZeroEndsTheApplianceWithStatusZero() throws Exception {
        Appliance.Exit exit = Appliance.run(home, Duration.ofSeconds(90), "--exec", "stop 0");
        assertEquals(0, exit.code(), exit.toString());
        assertEquals("", exit.stderr());
        assertFalse(exit.stdout().isEmpty());
    }
}
