package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.ddmapper.control.unix.PeerCred;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AllowListTest {
    @TempDir
    Path dir;

    private AllowList load(String text) throws IOException {
        return AllowList.load(Files.writeString(dir.resolve("control.conf"), text), 1000);
    }

    @Test
    void rootAndTheOwnUidAlwaysHaveFullAccessOthersNone() throws IOException {
        AllowList list = AllowList.load(dir.resolve("missing.conf"), 1000);
        assertEquals(Access.FULL, list.decide(new PeerCred(1, 0, 0)));
        assertEquals(Access.FULL, list.decide(new PeerCred(1, 1000, 1000)));
        assertEquals(Access.NONE, list.decide(new PeerCred(-1, 1001, 1001)));
        assertEquals("rw-------", PosixFilePermissions.toString(list.socketMode()));
    }

    @Test
    void rulesGrantByUidUserGidAndGroupAndTheWidestWins() throws IOException {
        AllowList list = load("""
                # comment
                allow uid 2000
                allow gid 3000 read-only   # trailing comment
                allow uid 4000 read-only
                allow gid 4000
                allow user root read-only
                socket-mode 0660
                """);
        assertEquals(Access.FULL, list.decide(new PeerCred(-1, 2000, 1)));
        assertEquals(Access.READ_ONLY, list.decide(new PeerCred(-1, 5000, 3000)));
        assertEquals(Access.FULL, list.decide(new PeerCred(-1, 4000, 4000)));
        assertEquals(Access.NONE, list.decide(new PeerCred(-1, 5000, 5000)));
        assertEquals("rw-rw----", PosixFilePermissions.toString(list.socketMode()));
    }

    /** The repository's etc/control.conf, which the distribution ships. */
    private static Path shipped() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path conf = p.resolve("etc").resolve("control.conf");
            if (Files.isRegularFile(conf) && Files.isDirectory(p.resolve("bundles"))) return conf;
        }
        throw new IllegalStateException("etc/control.conf not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void theShippedFileMeansTheDefaultsAndItsCommentedExamplesParse() throws IOException {
        AllowList shipped = AllowList.load(shipped(), 1000);
        AllowList defaults = AllowList.defaults(1000);
        assertEquals(defaults.socketMode(), shipped.socketMode());
        assertEquals(defaults.socketGroup(), shipped.socketGroup());
        for (PeerCred peer : new PeerCred[] {new PeerCred(1, 0, 0), new PeerCred(1, 1000, 1000), new PeerCred(1, 1001, 27),
                new PeerCred(1, 65534, 65534)})
            assertEquals(defaults.decide(peer), shipped.decide(peer), peer.toString());
        // the numeric examples, uncommented, are rules this parser takes
        StringBuilder uncommented = new StringBuilder();
        int examples = 0;
        for (String line : Files.readAllLines(shipped())) {
            if (!line.startsWith("#")) continue;
            String body = line.replaceFirst("^#\\s*", "");
            if (body.matches("(allow (uid|gid) \\d+.*|socket-mode \\d+.*)")) {
                uncommented.append(body).append('\n');
                examples++;
            }
        }
        assertEquals(3, examples, uncommented.toString());
        AllowList list = load(uncommented.toString());
        assertEquals(Access.FULL, list.decide(new PeerCred(-1, 1001, 1001)));
        assertEquals(Access.READ_ONLY, list.decide(new PeerCred(-1, 5000, 27)));
        assertEquals("rw-rw----", PosixFilePermissions.toString(list.socketMode()));
    }

    @Test
    void mistakesNameTheLine() {
        Path file = dir.resolve("control.conf");
        assertEquals(file + " line 2: unknown keyword 'alow' (expected allow, socket-mode or socket-group)",
                assertThrows(IOException.class, () -> load("allow uid 1\nalow uid 2\n")).getMessage());
        assertEquals(file + " line 1: expected 'allow uid|user|gid|group WHO [read-only]'",
                assertThrows(IOException.class, () -> load("allow uid 1 readonly\n")).getMessage());
        assertEquals(file + " line 1: no user 'no-such-user-here'",
                assertThrows(IOException.class, () -> load("allow user no-such-user-here\n")).getMessage());
        assertEquals(file + " line 1: invalid id '12x'", assertThrows(IOException.class, () -> load("allow uid 12x\n")).getMessage());
        assertEquals(file + " line 1: socket-mode must keep the owner's read and write bits",
                assertThrows(IOException.class, () -> load("socket-mode 0066\n")).getMessage());
        assertEquals(file + " line 1: expected 'socket-mode' and an octal mode such as 0660",
                assertThrows(IOException.class, () -> load("socket-mode 999\n")).getMessage());
        assertEquals(file + " line 2: not UTF-8 text", assertThrows(IOException.class,
                () -> AllowList.load(Files.write(file, new byte[] {'#', '\n', 'a', (byte) 0xff, '\n'}), 1000)).getMessage());
    }
}
