package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.osgi.framework.Bundle;
import org.tinylog.Logger;

/** The files of an upgrade: the bundle's jar in the image, staged copies, durable writes into the store. */
final class BundleFiles {
    private BundleFiles() {}

    /**
     * The jar file the bundle was installed from: the image's jar (the distribution's bundle directory). The
     * launcher installs a stored version under the same location, so this is the image's jar whatever runs.
     */
    static Path locationFile(Bundle bundle) {
        String location = bundle.getLocation();
        try {
            // the launcher installs by reference ("reference:file:/…/x.jar": read in place)
            URI uri = URI.create(location.replaceFirst("^reference:", "").split("#", 2)[0]);
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

    /** Copies {@code from} to {@code target} durably: a new file beside it, fsynced, renamed over it, the folder fsynced. */
    static void copyDurably(Path from, Path target) throws IOException {
        writeDurably(target, Files.readAllBytes(from));
    }

    /** Writes {@code target} durably: a new file beside it, fsynced, renamed over it, the folder fsynced. */
    static void writeDurably(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".new");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
            ch.force(true);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw e;
        }
        try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            Logger.warn("cannot fsync {}: {}", target.getParent(), e.getMessage());
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
