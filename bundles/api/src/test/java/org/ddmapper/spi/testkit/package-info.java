/**
 * The test kit for target, checker and client authors, published as the api bundle's test-jar
 * ({@code <artifactId>api</artifactId><type>test-jar</type><scope>test</scope>}). One of each:
 * <ul>
 *   <li>{@link org.ddmapper.spi.testkit.MemoryDevice}: a scripted in-memory device (fail the next N
 *       requests or every one, hold requests until released, holes for allocation queries; several
 *       can share one storage, as paths to one disk do);</li>
 *   <li>{@link org.ddmapper.spi.testkit.FakeTargetContext}: a target's surroundings (devices by
 *       reference, events raised as their records, adopted sockets, a real scheduler);</li>
 *   <li>{@link org.ddmapper.spi.testkit.Completion}: a request's outcome to wait for;</li>
 *   <li>{@link org.ddmapper.spi.testkit.TestTargetTypes}: small target types for tests of the core
 *       and of what sits on it (remap, queue, slow constructor, flush counter, echo, veto);</li>
 *   <li>{@link org.ddmapper.spi.testkit.MemoryDeviceManager}: a DeviceManager for tests of the NBD
 *       server, the control server and the console, with devices holding data
 *       ({@link org.ddmapper.spi.testkit.StoredDevice}) or tables of zero, error and echo lines.</li>
 * </ul>
 */
package org.ddmapper.spi.testkit;
