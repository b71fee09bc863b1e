package org.ddmapper.api;

import java.util.List;

/**
 * One bundle as the home's bundle store holds it ({@code ddsetup upgrade --list}): the version the
 * image (the distribution's {@code bundle/}) carries, the version running now, and every version the
 * store keeps of it, newest first. Live upgrades write to the store, never to the image, so a
 * read-only image can be upgraded; at boot the launcher starts the newest version marked
 * {@link Status#CURRENT}, else the image's.
 *
 * @param bundle         the bundle's symbolic name
 * @param imageVersion   the image's version of it ("" when the image has none)
 * @param runningVersion the installed version now ("" when it is not installed)
 * @param versions       what the store holds of it, newest first
 */
public record StoredBundle(String bundle, String imageVersion, String runningVersion, List<Version> versions) {

    public StoredBundle {
        versions = List.copyOf(versions);
    }

    /** Where a stored version stands. */
    public enum Status {
        /** The version a boot starts: the newest upgrade made on this image's version of the bundle. */
        CURRENT,
        /** Kept below the current one: a boot falls back to it, {@code --revert} goes back to it. */
        PREVIOUS,
        /** Failed to start at a boot and was set aside: no boot tries it again. */
        SET_ASIDE,
        /** Stored on top of another image's version of the bundle: this image ignores it. */
        OTHER_IMAGE
    }

    /**
     * One stored version.
     *
     * @param version the bundle version
     * @param status  where it stands
     * @param from    the version it was upgraded from
     * @param image   the image's version of the bundle when it was stored
     * @param at      when it was stored (or set aside), ISO-8601 UTC
     * @param reason  why it was set aside ("" otherwise)
     */
    public record Version(String version, Status status, String from, String image, String at, String reason) {
    }
}
