/**
 * The contract for device users: the {@link org.ddmapper.api.DeviceManager} verbs (dmsetup's),
 * values describing devices and tables, typed events, and the asynchronous block I/O types
 * ({@link org.ddmapper.api.BlockDevice}, {@link org.ddmapper.api.Bio}) and allocation queries
 * ({@link org.ddmapper.api.Extent}) that clients such as the NBD server use to reach a mapped device.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.5.0")
package org.ddmapper.api;
