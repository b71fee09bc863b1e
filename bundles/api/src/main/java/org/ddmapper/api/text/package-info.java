/**
 * dmsetup's output formats, rendered in one place for every front end (the ddlink server for
 * {@code ddsetup}, the Gogo console), so that their output is identical.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package org.ddmapper.api.text;
