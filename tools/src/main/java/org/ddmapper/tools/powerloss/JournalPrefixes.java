package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.ddmapper.tools.verify.Journal;

/**
 * What the verifying writer's journal promised at a crash point: the newest mark before it
 * ({@code jN}: the journal had N lines when something became durable) names the durable prefix;
 * before the first mark only the run line. Each prefix is read once (a replay asks for the same
 * one at many points).
 */
final class JournalPrefixes {
    private final Path journal;
    private final Map<Integer, Journal.State> states = new HashMap<>();

    JournalPrefixes(Path journal) {
        this.journal = journal;
    }

    Journal.State at(CrashPoint point) throws IOException {
        int lines = point.lastMark() != null && point.lastMark().matches("j[0-9]{1,9}") ? Integer.parseInt(point.lastMark().substring(1)) : 1;
        Journal.State state = states.get(lines);
        if (state == null) {
            state = Journal.durable(journal, lines);
            states.put(lines, state);
        }
        return state;
    }
}
