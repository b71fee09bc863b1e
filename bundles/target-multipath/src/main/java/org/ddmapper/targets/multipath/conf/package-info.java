/**
 * The multipath bundle's exported checks of its configuration, for the launcher to run at boot
 * (see {@link org.ddmapper.targets.multipath.conf.MultipathConfCheck}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.ddmapper.targets.multipath.conf;
