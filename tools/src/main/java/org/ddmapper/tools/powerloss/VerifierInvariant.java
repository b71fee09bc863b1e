package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
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
    private final JournalPrefixes journal;

    public VerifierInvariant(Path journal) {
        this.journal = new JournalPrefixes(journal);
    }

    @Override
    public String name() { return "verifier"; }

    @Override
    public List<String> check(CrashPoint point, FileChannel image) throws IOException {
        Journal.State state = journal.at(point);
        ImageReader reader = new ImageReader(image);
        return VerifyCheck.check(state, (index, bytes) -> reader.read(index * bytes, bytes)).violations();
    }
}
