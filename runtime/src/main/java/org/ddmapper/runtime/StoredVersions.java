package org.ddmapper.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the home's bundle store offers a boot: {@code HOME/bundles/boot.list}, which the core writes
 * after every live upgrade, revert or set-aside (see bundles/core, "Bundle store"). One line per stored
 * version a boot may try, newest first per bundle:
 *
 * <pre>
 * org.ddmapper.target.linear	0.1.2	0.1.0.SNAPSHOT	org.ddmapper.target.linear-0.1.2.jar
 * </pre>
 *
 * (bundle, version, the image's version of the bundle it was stored over, the jar in the store). A
 * stored version applies only over the image version it was made on: a new image's bundles win over
 * upgrades of the old one. No file means nothing stored; a line that does not read is named on stderr
 * and skipped (the image's version is the fallback whatever the file says).
 */
record StoredVersions(List<Candidate> lines) {

    static final String BOOT_LIST = "boot.list";

    /** One stored version: its jar in the store. */
    record Candidate(String bundle, String version, String imageVersion, Path jar) {
    }

    static StoredVersions read(Path storeDir, PrintStream err) {
        Path file = storeDir.resolve(BOOT_LIST);
        List<String> text;
        try {
            text = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return new StoredVersions(List.of());
        } catch (IOException e) {
            err.println("ddmapper: warning: " + file + ": cannot read: " + Describe.io(e) + "; the image's bundles start");
            return new StoredVersions(List.of());
        }
        List<Candidate> lines = new ArrayList<>();
        for (int i = 0; i < text.size(); i++) {
            String line = text.get(i);
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            // the jar is a file name in the store: no folder, no NUL, nothing that leaves it
            if (f.length != 4 || f[0].isEmpty() || f[1].isEmpty() || !f[3].matches("[^/\\x00]+\\.jar")) {
                err.println("ddmapper: warning: " + file + ":" + (i + 1) + ": expected BUNDLE<TAB>VERSION<TAB>IMAGE-VERSION<TAB>JAR, got '"
                        + line + "'; skipped");
                continue;
            }
            lines.add(new Candidate(f[0], f[1], f[2], storeDir.resolve(f[3])));
        }
        return new StoredVersions(List.copyOf(lines));
    }

    /** The stored versions of {@code bundle} made over the image version {@code imageVersion}, newest first. */
    List<Candidate> candidates(String bundle, String imageVersion) {
        return lines.stream().filter(c -> c.bundle().equals(bundle) && c.imageVersion().equals(imageVersion)).toList();
    }
}
