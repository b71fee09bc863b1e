package org.ddmapper.api.cli;

import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * A command line that does not parse: an unknown verb or option, a missing or extra word, a
 * number or field list that does not read. The message names what was wrong; {@link #hint()}
 * is what to show after it (the usage, or the list of fields).
 */
public final class UsageException extends DmException {
    private static final long serialVersionUID = 1L;
    private final String hint;

    public UsageException(String message, String hint) {
        super(Errno.EINVAL, message);
        this.hint = hint;
    }

    public UsageException(String message) {
        this(message, Usage.TEXT);
    }

    /** Text to print after the message (ends with a newline, may be empty). */
    public String hint() { return hint; }
}
