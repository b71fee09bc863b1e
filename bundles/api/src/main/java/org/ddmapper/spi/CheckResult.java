package org.ddmapper.spi;

/** A path check's outcome and a short reason ("read of sector 0 failed: EIO"). */
public record CheckResult(PathState state, String message) {
}
