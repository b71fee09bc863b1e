package org.ddmapper.api;

import java.nio.file.Path;

/**
 * Live upgrade of a target or checker bundle, registered as an OSGi service by the core. One
 * upgrade runs at a time. The new jar is staged and checked before anything is touched; once
 * swapped in, every device built on the bundle is rebuilt on the new code (its I/O waits, never
 * fails); if the new version does not come up in time, or its constructor refuses a live table,
 * the old jar is put back, the devices resume on it, and the call throws.
 */
public interface BundleUpgrades {

    /**
     * Replaces the installed bundle {@code symbolicName} with {@code jar}; on success the jar
     * also replaces the bundle's file in the distribution, so a restart keeps it.
     *
     * @throws DmException whose message is one sentence saying what happened and why (EBUSY while
     *     another upgrade runs, ENOENT for a missing jar or bundle, EINVAL for a jar that is not
     *     that bundle, EPERM for a bundle that cannot be upgraded live, ECANCELED after a rollback)
     */
    UpgradeReport upgrade(String symbolicName, Path jar);
}
