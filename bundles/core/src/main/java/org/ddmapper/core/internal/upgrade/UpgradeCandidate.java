package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;

/** A jar offered as a bundle's new version: its identity and the packages it imports and exports, read from its manifest. */
record UpgradeCandidate(Path jar, String symbolicName, Version version, ManifestClauses imports, ManifestClauses exports) {

    /** Reads the jar's manifest; throws a DmException naming the file when it is missing or not a bundle. */
    static UpgradeCandidate read(Path jar) {
        if (!Files.exists(jar)) throw new DmException(Errno.ENOENT, "no file " + jar);
        if (!Files.isRegularFile(jar)) throw new DmException(Errno.EINVAL, jar + " is not a regular file");
        Manifest mf;
        try (JarFile jf = new JarFile(jar.toFile())) {
            mf = jf.getManifest();
        } catch (IOException e) {
            throw new DmException(Errno.EINVAL, jar + " is not a jar (" + e.getMessage() + ")");
        }
        if (mf == null) throw new DmException(Errno.EINVAL, jar + " has no manifest, so it is not a bundle");
        var main = mf.getMainAttributes();
        String bsn = main.getValue(Constants.BUNDLE_SYMBOLICNAME);
        if (bsn == null || bsn.isBlank() || !"2".equals(strip(main.getValue(Constants.BUNDLE_MANIFESTVERSION))))
            throw new DmException(Errno.EINVAL, jar + " is not an OSGi bundle (its manifest has no Bundle-SymbolicName or Bundle-ManifestVersion 2)");
        Version version;
        try {
            version = Version.parseVersion(strip(main.getValue(Constants.BUNDLE_VERSION)));
        } catch (IllegalArgumentException e) {
            throw new DmException(Errno.EINVAL, jar + " has an invalid Bundle-Version: " + e.getMessage());
        }
        return new UpgradeCandidate(jar, bsn.split(";")[0].strip(), version, ManifestClauses.parse(main.getValue(Constants.IMPORT_PACKAGE)),
                ManifestClauses.parse(main.getValue(Constants.EXPORT_PACKAGE)));
    }

    private static String strip(String s) { return s == null ? null : s.strip(); }
}
