package org.ddmapper.api;

/** One line of {@code status} or {@code table} output: a target's range and type, and its INFO or TABLE text. */
public record TargetStatus(long startSector, long lengthSectors, String type, String text) {

    @Override
    public String toString() {
        return startSector + " " + lengthSectors + " " + type + (text == null || text.isEmpty() ? "" : " " + text);
    }
}
