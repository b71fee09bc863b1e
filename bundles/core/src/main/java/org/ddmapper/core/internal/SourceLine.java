package org.ddmapper.core.internal;

import org.ddmapper.api.TableLine;

/** A parsed table line and the line number it came from (1-based), for errors that name it. */
public record SourceLine(int lineNumber, TableLine line) {

    /** The error prefix naming this line. */
    public String where() { return "line " + lineNumber; }
}
