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
 * A tinylog writer for fuzz tests: keeps every ERROR the code under test logs (an exception the
 * server caught only to log it is still a finding). {@link #install} must run before anything logs.
 */
public final class FuzzLog implements Writer {
    private static final List<String> ERRORS = new ArrayList<>();

    public FuzzLog(Map<String, String> properties) {}

    /** Logs only errors, to this writer alone (nothing to the console). */
    static void install() {
        System.setProperty("tinylog.writer", FuzzLog.class.getName());
        System.setProperty("tinylog.writer.level", "error");
    }

    /** The errors logged since the last call, cleared. */
    static synchronized List<String> takeErrors() {
        List<String> out = List.copyOf(ERRORS);
        ERRORS.clear();
        return out;
    }

    @Override
    public Collection<LogEntryValue> getRequiredLogEntryValues() {
        return EnumSet.of(LogEntryValue.LEVEL, LogEntryValue.MESSAGE, LogEntryValue.EXCEPTION);
    }

    @Override
    public void write(LogEntry entry) {
        if (entry.getLevel().ordinal() < Level.ERROR.ordinal()) return;
        synchronized (FuzzLog.class) {
            ERRORS.add(entry.getMessage() + (entry.getException() == null ? "" : ": " + entry.getException()));
        }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
}
