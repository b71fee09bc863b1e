package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TableLine;

/**
 * The text of a table, parsed and checked for layout but not yet built into targets: what a
 * device keeps for each slot so that targets can be rebuilt (live upgrade, boot) and what the
 * state file stores. Layout rules are the kernel's: contiguous from sector 0, no zero length,
 * no overlap, no sector overflow.
 */
public record TableSpec(List<SourceLine> lines) {

    public TableSpec {
        lines = List.copyOf(lines);
    }

    /** Parses and checks a whole table; errors name the line. Blank lines and '#' comments are skipped. */
    public static TableSpec parse(String text) {
        List<SourceLine> lines = new ArrayList<>();
        if (text != null) {
            String[] raw = text.split("\n", -1);
            for (int i = 0; i < raw.length; i++) {
                String line = raw[i].endsWith("\r") ? raw[i].substring(0, raw[i].length() - 1) : raw[i];
                if (line.isBlank() || line.stripLeading().startsWith("#")) continue;
                if (lines.size() >= TableLine.MAX_LINES)
                    throw new DmException(Errno.EINVAL, "table has more than " + TableLine.MAX_LINES + " lines");
                try {
                    lines.add(new SourceLine(i + 1, TableLine.parse(line)));
                } catch (DmException e) {
                    throw new DmException(e.errno(), "line " + (i + 1) + ": " + e.getMessage());
                }
            }
        }
        if (lines.isEmpty()) throw new DmException(Errno.EINVAL, "table has no targets");
        TableSpec spec = new TableSpec(lines);
        spec.checkLayout();
        return spec;
    }

    /** Builds a spec from lines already parsed (state file), numbering them 1..n, and checks it. */
    public static TableSpec of(List<TableLine> tableLines) {
        List<SourceLine> lines = new ArrayList<>();
        for (TableLine l : tableLines) lines.add(new SourceLine(lines.size() + 1, l));
        if (lines.isEmpty()) throw new DmException(Errno.EINVAL, "table has no targets");
        TableSpec spec = new TableSpec(lines);
        spec.checkLayout();
        return spec;
    }

    /** Contiguous from 0, no zero-length target, no overflow past 2^63 sectors. */
    private void checkLayout() {
        long expected = 0;
        for (SourceLine s : lines) {
            TableLine l = s.line();
            if (l.lengthSectors() == 0)
                throw new DmException(Errno.EINVAL, s.where() + ": zero-length target");
            if (l.startSector() != expected) {
                String what = expected == 0 ? "the first target must start at sector 0, not " + l.startSector()
                        : l.startSector() < expected
                          ? "overlap in table: target starts at sector " + l.startSector() + " but the previous one ends at " + expected
                          : "gap in table: target starts at sector " + l.startSector() + ", expected " + expected;
                throw new DmException(Errno.EINVAL, s.where() + ": " + what);
            }
            if (Long.MAX_VALUE - l.startSector() < l.lengthSectors())
                throw new DmException(Errno.EOVERFLOW, s.where() + ": target end overflows the sector range");
            expected = l.endSector();
        }
    }

    public long sizeSectors() {
        return lines.get(lines.size() - 1).line().endSector();
    }

    public int size() { return lines.size(); }

    /** The table lines without their numbers. */
    public List<TableLine> tableLines() {
        return lines.stream().map(SourceLine::line).toList();
    }

    /** The table as text, one normalised line per target (parses back to an equal spec). */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (SourceLine s : lines) sb.append(s.line()).append('\n');
        return sb.toString();
    }
}
