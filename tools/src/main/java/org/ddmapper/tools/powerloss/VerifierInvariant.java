package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyCheck;

/**
 * "Every acknowledged-and-flushed write is present", for a run of the verifying writer whose marks
 * ({@code jN}: the journal had N lines when something became durable) are in the log: at a crash
 * point, the newest mark before it says how much of the journal was durable, and the image must hold
 * what that journal prefix promises ({@link VerifyCheck}). Before the first mark nothing was
 * promised, and every block must still be zeros or a whole block of the run.
 */
public final class VerifierInvariant implements InvariantChecker {
    private final Path journal;
    private final Map<Integer, Journal.State> states = new HashMap<>();

    public VerifierInvariant(Path journal) {
        this.journal = journal;
    }

    @Override
    public String name() { return "verifier"; }

    @Override
    public List<String> check(CrashPoint point, FileChannel image) throws IOException {
        int lines = point.lastMark() != null && point.lastMark().matches("j[0-9]{1,9}") ? Integer.parseInt(point.lastMark().substring(1)) : 1;
        Journal.State state = states.get(lines);
        if (state == null) {
            state = Journal.durable(journal, lines);
            states.put(lines, state);
        }
        ImageReader reader = new ImageReader(image);
        return VerifyCheck.check(state, (index, bytes) -> reader.read(index * bytes, bytes)).violations();
    }
}
