/**
 * The dmsetup command line: {@link org.ddmapper.api.cli.CommandLine} parses it into a
 * {@link org.ddmapper.api.cli.Command}, {@link org.ddmapper.api.cli.Cli} runs it against a
 * {@code DeviceManager} and returns the text to print and the exit status. Every front end
 * (the appliance's ddlink CLI op behind the native {@code ddsetup}, the Java {@code ddsetup},
 * the Gogo console's {@code dm:} commands) goes through it, so all print the same.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.ddmapper.api.cli;
