package org.ddmapper.spi;

/**
 * In-memory state a target hands to its successor during a live upgrade: a format version of
 * the target's choosing and opaque bytes. A successor that does not know the version ignores it.
 */
public record TargetState(String type, int formatVersion, byte[] data) {
}
