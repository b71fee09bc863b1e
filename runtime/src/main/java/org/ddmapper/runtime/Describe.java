package org.ddmapper.runtime;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Short, single-line descriptions of exceptions for the launcher's error lines. */
final class Describe {

    private Describe() {
    }

    /** "no such file", "permission denied", … — the reason only, without the path. */
    static String io(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "exists and is not a directory";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason().toLowerCase(java.util.Locale.ROOT);
        }
        String message = oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        return message.isEmpty() ? message : Character.toLowerCase(message.charAt(0)) + message.substring(1);
    }

    /** The message of {@code e} and of each distinct cause, joined by ": ", on one line. */
    static String chain(Throwable e) {
        StringBuilder line = new StringBuilder();
        String previous = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (previous != null && previous.contains(message)) {
                continue;
            }
            if (line.length() > 0) {
                line.append(": ");
            }
            line.append(message);
            previous = message;
        }
        return oneLine(line.toString());
    }

    static String oneLine(String text) {
        return text.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
