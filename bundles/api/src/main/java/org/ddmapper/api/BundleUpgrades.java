package org.ddmapper.api;

import java.nio.file.Path;
import java.util.List;

/**
 * Live upgrade of a target or checker bundle, registered as an OSGi service by the core. One
 * upgrade runs at a time. The new jar is staged and checked before anything is touched; once
 * swapped in, every device built on the bundle is rebuilt on the new code (its I/O waits, never
 * fails); if the new version does not come up in time, or its constructor refuses a live table,
 * the old jar is put back, the devices resume on it, and the call throws.
 *
 * <p>An upgraded jar is kept in the home's bundle store (never written into the distribution, which
 * may be read-only), with its history; a restart starts the store's current version ({@link #stored()}).
 */
public interface BundleUpgrades {

    /**
     * Replaces the installed bundle {@code symbolicName} with {@code jar}; on success the jar
     * becomes the bundle's current version in the home's bundle store, so a restart keeps it.
     *
     * @throws DmException whose message is one sentence saying what happened and why (EBUSY while
     *     another upgrade runs, ENOENT for a missing jar or bundle, EINVAL for a jar that is not
     *     that bundle, EPERM for a bundle that cannot be upgraded live, ECANCELED after a rollback)
     */
    UpgradeReport upgrade(String symbolicName, Path jar);

    /** What the home's bundle store holds, bundle by bundle in name order; bundles it holds nothing of are left out. */
    List<StoredBundle> stored();

    /**
     * Undoes the newest stored upgrade of {@code symbolicName}: swaps back live (the same safe steps as
     * {@link #upgrade}) to the version below it in the store, or to the image's, and drops it from the store.
     *
     * @throws DmException ENOENT when the store holds no upgrade of it that runs now; otherwise as {@link #upgrade}
     */
    UpgradeReport revert(String symbolicName);

    /**
     * The launcher's report, once the boot devices serve, that the stored {@code version} of
     * {@code symbolicName} failed to start at this boot and another version runs instead: the store sets
     * it aside (no boot tries it again; {@link #stored()} shows the reason) and every device built on the
     * bundle's types (for a checker bundle: every multipath device) gets a {@code BUNDLE_SET_ASIDE} event.
     */
    void setAsideAtBoot(String symbolicName, String version, String reason);
}
