package org.ddmapper.nbd;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.core.LogEntryValue;
import org.tinylog.writers.Writer;

/**
 * A tinylog writer (configured in the tests' tinylog.properties) that keeps every WARN and ERROR
 * line of the run, so a test can assert that hostile clients caused no server error: a client's
 * bad request is at most one line without a stack trace.
 */
public final class LogRecorder implements Writer {
    /** One recorded line: its level, its text, and whether it carried a stack trace. */
    public record Line(Level level, String message, boolean withTrace) {
    }

    private static final List<Line> LINES = new ArrayList<>();

    public LogRecorder(Map<String, String> properties) {
        // no settings
    }

    /** Lines recorded from now on are the ones {@link #since} returns for this mark. */
    public static int mark() {
        synchronized (LINES) {
            return LINES.size();
        }
    }

    public static List<Line> since(int mark) {
        synchronized (LINES) {
            return List.copyOf(LINES.subList(mark, LINES.size()));
        }
    }

    /** Recorded lines since {@code mark} that are errors or carry a stack trace. */
    public static List<Line> serverBugsSince(int mark) {
        return since(mark).stream().filter(l -> l.level() == Level.ERROR || l.withTrace()).toList();
    }

    @Override
    public Collection<LogEntryValue> getRequiredLogEntryValues() {
        return EnumSet.of(LogEntryValue.LEVEL, LogEntryValue.MESSAGE, LogEntryValue.EXCEPTION);
    }

    @Override
    public void write(LogEntry entry) {
        if (entry.getLevel().ordinal() < Level.WARN.ordinal()) return;
        Line line = new Line(entry.getLevel(), entry.getMessage(), entry.getException() != null);
        synchronized (LINES) {
            LINES.add(line);
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
}
