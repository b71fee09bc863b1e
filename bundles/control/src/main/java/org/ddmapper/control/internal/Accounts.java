package org.ddmapper.control.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** User and group names to numbers, from /etc/passwd and /etc/group (Java has no getpwnam). */
final class Accounts {
    private Accounts() {}

    static Optional<Integer> uid(String name) { return lookup(Path.of("/etc/passwd"), name); }

    static Optional<Integer> gid(String name) { return lookup(Path.of("/etc/group"), name); }

    /** The uid this process runs as (the owner of a file it creates). */
    static int ownUid() {
        try {
            Path probe = Path.of("/proc/self");
            return (Integer) Files.getAttribute(probe, "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        }
    }

    private static Optional<Integer> lookup(Path file, String name) {
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.split(":");
                if (f.length >= 3 && f[0].equals(name)) return Optional.of(Integer.parseInt(f[2]));
            }
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
