package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.osgi.framework.Bundle;
import org.tinylog.Logger;

/** The files of an upgrade: the bundle's jar in the distribution, staged copies, the atomic replacement. */
final class BundleFiles {
    private BundleFiles() {}

    /** The jar file the bundle was installed from (the distribution's bundle directory). */
    static Path locationFile(Bundle bundle) {
        String location = bundle.getLocation();
        try {
            URI uri = URI.create(location.split("#", 2)[0]);
            if ("file".equals(uri.getScheme())) {
                Path p = Path.of(uri);
                if (Files.isRegularFile(p)) return p;
            }
        } catch (IllegalArgumentException e) {
            // not a URI: falls through
        }
        throw new DmException(Errno.EPERM, bundle.getSymbolicName() + " was installed from '" + location
                + "', not from a jar file this appliance can replace; install it from the bundle directory to upgrade it live");
    }

    /** Copies a jar to {@code to} (through a temporary name beside it); a failure refuses the upgrade {@code what}. */
    static Path copy(Path from, Path to, String what) {
        try {
            Files.createDirectories(to.getParent());
            Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return to;
        } catch (IOException e) {
            throw new DmException(Errno.EIO, what + " refused: cannot copy " + from + " to " + to + ": " + e.getMessage());
        }
    }

    /** Puts the new jar in place of the bundle's file: written beside it, fsynced, renamed over it. */
    static void replace(Path location, Path jar) throws IOException {
        Path tmp = location.resolveSibling("." + location.getFileName() + ".upgrade");
        try {
            Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, location, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw e;
        }
        try (FileChannel dir = FileChannel.open(location.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            Logger.warn("cannot fsync {}: {}", location.getParent(), e.getMessage());
        }
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            Logger.warn("cannot delete {}: {}", p, e.getMessage());
        }
    }
}
