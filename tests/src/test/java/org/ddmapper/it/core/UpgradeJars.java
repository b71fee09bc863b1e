package org.ddmapper.it.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.ddmapper.it.core.refusing.RefusingTypes;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;

/** Bundle jars for upgrade tests, made from the built ones by rewriting their manifests. */
public final class UpgradeJars {
    private UpgradeJars() { }

    /** A copy of {@code jar} whose manifest {@code edit} changed; every other entry as it was. */
    public static Path rewrite(Path jar, Path out, Consumer<Attributes> edit) throws IOException {
        try (JarFile in = new JarFile(jar.toFile())) {
            Manifest mf = new Manifest(in.getManifest());
            edit.accept(mf.getMainAttributes());
            try (OutputStream os = Files.newOutputStream(out); JarOutputStream jos = new JarOutputStream(os, mf)) {
                for (var entries = in.entries(); entries.hasMoreElements(); ) {
                    JarEntry e = entries.nextElement();
                    if (e.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME) || e.getName().equalsIgnoreCase("META-INF/")) continue;
                    jos.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream is = in.getInputStream(e)) {
                        is.transferTo(jos);
                    }
                    jos.closeEntry();
                }
            }
        }
        return out;
    }

    /** A copy with Bundle-Version set to {@code version}. */
    public static Path withVersion(Path jar, Path out, String version) throws IOException {
        return rewrite(jar, out, a -> a.putValue(Constants.BUNDLE_VERSION, version));
    }

    /** The jar's Bundle-Version. */
    public static Version version(Path jar) throws IOException {
        try (JarFile in = new JarFile(jar.toFile())) {
            return Version.parseVersion(in.getManifest().getMainAttributes().getValue(Constants.BUNDLE_VERSION));
        }
    }

    /** The same bundle one micro version up (0.1.0.SNAPSHOT -> 0.1.1.SNAPSHOT). */
    public static String nextMicro(Version v) {
        return new Version(v.getMajor(), v.getMinor(), v.getMicro() + 1, v.getQualifier()).toString();
    }

    /** A bundle named {@code symbolicName} whose activator registers linear and striped types that refuse every table. */
    static Path refusing(String symbolicName, String version, Path out) throws IOException {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue(Constants.BUNDLE_MANIFESTVERSION, "2");
        a.putValue(Constants.BUNDLE_SYMBOLICNAME, symbolicName);
        a.putValue(Constants.BUNDLE_VERSION, version);
        a.putValue(Constants.BUNDLE_ACTIVATOR, RefusingTypes.class.getName());
        a.putValue(Constants.IMPORT_PACKAGE, "org.ddmapper.api,org.ddmapper.spi,org.osgi.framework");
        String entry = RefusingTypes.class.getName().replace('.', '/') + ".class";
        try (OutputStream os = Files.newOutputStream(out); JarOutputStream jos = new JarOutputStream(os, mf);
             InputStream cls = RefusingTypes.class.getClassLoader().getResourceAsStream(entry)) {
            jos.putNextEntry(new JarEntry(entry));
            cls.transferTo(jos);
            jos.closeEntry();
        }
        return out;
    }
}
