/**
 * TLS credentials from a directory laid out as qemu's and nbdkit's ({@code ca-cert.pem},
 * {@code server-cert.pem}, {@code server-key.pem}, {@code client-cert.pem}, {@code client-key.pem},
 * optional {@code ca-crl.pem}), as a JDK {@link javax.net.ssl.SSLContext} reloaded when the files
 * change. One place for every front end that speaks TLS (the NBD server and client, the web console).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.ddmapper.api.tls;
