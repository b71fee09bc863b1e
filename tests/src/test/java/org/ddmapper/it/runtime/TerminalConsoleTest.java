package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Terminal;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console as a person at a terminal has it: bin/ddmapper on a pseudo-terminal (util-linux
 * {@code script}, whose stdin the test types into; a Ctrl-C typed there is a real SIGINT from the
 * terminal's line discipline, Ctrl-D a real end of input).
 */
@Timeout(240)
class TerminalConsoleTest {

    private static final Duration BOOT = Appliance.READY_TIMEOUT;
    private static final Duration ANSWER = Terminal.ANSWER;

    @TempDir
    Path home;
    private Terminal terminal;

    @AfterEach
    void killWhatIsLeft() {
        if (terminal != null) {
            terminal.kill();
        }
    }

    @Test
    void ctrlCInterruptsTheRunningCommandNotTheApplianceAndCtrlDEndsItCleanly() throws Exception {
        terminal = Terminal.start("exec " + ddmapper(), null);
        terminal.await("the ready line and the prompt", BOOT, "ddmapper ready: nbd=127.0.0.1:");
        terminal.awaitPrompt();

        int mark = terminal.type("lb\n");
        terminal.await("lb's listing", ANSWER, mark, "|ddmapper core (");
        terminal.awaitPromptAfter(mark);

        // two events on the demo device, so that dm:events prints something before it starts to follow
        terminal.awaitPromptAfter(terminal.type("dm:suspend demo\n"));
        terminal.awaitPromptAfter(terminal.type("dm:resume demo\n"));
        mark = terminal.type("dm:events demo\n");
        terminal.await("dm:events' history", ANSWER, mark, " resumed");
        int interrupted = terminal.type("\003"); // Ctrl-C while dm:events follows the device
        terminal.awaitPromptAfter(interrupted);
        assertTrue(terminal.isAlive(), terminal.text());

        // Ctrl-C at the prompt: a fresh prompt, as in a shell
        terminal.awaitPromptAfter(terminal.type("\003"));
        mark = terminal.type("dm:status demo\n");
        terminal.await("the appliance answers after Ctrl-C", ANSWER, mark, "0 131072 linear");

        List<ProcessHandle> processes = terminal.processes();
        terminal.type("\004"); // Ctrl-D: the end of the console's input ends the appliance
        assertEquals(0, terminal.awaitExit(), terminal.text());
        for (ProcessHandle p : processes) {
            Waits.await("pid " + p.pid() + " gone", ANSWER, () -> !p.isAlive());
        }
    }

    @Test
    void theConsoleComesUpWhenStdinIsATerminalAndStdoutIsNotAndSigtermStillStopsCleanly() throws Exception {
        Path stdout = home.resolveSibling(home.getFileName() + ".stdout");
        terminal = Terminal.start("exec " + ddmapper() + " > " + stdout, stdout);
        terminal.await("the ready line and the prompt", BOOT, "ddmapper ready: nbd=127.0.0.1:");
        terminal.awaitPrompt();
        int mark = terminal.type("lb -s org.ddmapper.core\n");
        terminal.await("lb's answer", ANSWER, mark, "|org.ddmapper.core (");

        List<ProcessHandle> processes = terminal.processes();
        ProcessHandle java = processes.stream().filter(p -> p.info().command().orElse("").endsWith("java"))
                .findFirst().orElseThrow(() -> new AssertionError("no java process below script: " + processes));
        java.destroy(); // SIGTERM
        assertEquals(0, terminal.awaitExit(), terminal.text());
        for (ProcessHandle p : processes) {
            Waits.await("pid " + p.pid() + " gone", ANSWER, () -> !p.isAlive());
        }
    }

    private String ddmapper() {
        return Appliance.distribution().resolve("bin/ddmapper") + " --home " + home + " --nbd 127.0.0.1:0 --http none";
    }
}
