package org.ddmapper.api;

/** One line of {@code status} or {@code table} output: a target's range and type, and its INFO or TABLE text. */
public record TargetStatus(long startSector, long lengthSectors, String type, String text) {

    /**
     * The line as dmsetup prints it: {@code <start> <length> <type> <text>}, with the blank after
     * the type even when the text is empty ({@code "0 8 zero "}), exactly as the target wrote it.
     */
    @Override
    public String toString() {
        return startSector + " " + lengthSectors + " " + type + " " + (text == null ? "" : text);
    }
}
