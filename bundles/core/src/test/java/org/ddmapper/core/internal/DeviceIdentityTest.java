package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DeviceIdentity}: one storage however it is referenced, two storages never alike. */
class DeviceIdentityTest {
    @TempDir Path dir;
    final FileProvider files = new FileProvider(1);

    @AfterEach
    void stop() { files.close(); }

    @Test
    void aFileIsItsInodeWhateverPathLedToIt() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), new byte[4096]);
        Path b = Files.write(dir.resolve("b.img"), new byte[4096]);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), a);
        try (BlockDevice a1 = files.open(a.toString(), false); BlockDevice a2 = files.open(dir + "/./a.img", false);
             BlockDevice viaLink = files.open(link.toString(), false); BlockDevice other = files.open(b.toString(), false)) {
            String id = DeviceIdentity.of(a1);
            assertTrue(id.startsWith("file:"), id);
            assertEquals(id, DeviceIdentity.of(a2), "another spelling of the path");
            assertEquals(id, DeviceIdentity.of(viaLink), "a symbolic link to it");
            assertNotEquals(id, DeviceIdentity.of(other));
            assertEquals(id, DeviceIdentity.of(new TrackedDevice(a1, new java.util.HashSet<>())), "opened later through a target's context");
        }
    }

    @Test
    void whatCannotBeLookedAtIsItsReference() throws Exception {
        Path gone = Files.write(dir.resolve("gone.img"), new byte[4096]);
        try (BlockDevice d = files.open(gone.toString(), false)) {
            Files.delete(gone);
            assertEquals(gone.toString(), DeviceIdentity.of(d));
        }
        BlockDevice remote = new BlockDevice() {
            @Override public String reference() { return "nbd://10.0.0.1:10809/disk"; }
            @Override public long sizeSectors() { return 8; }
            @Override public void submit(Bio bio) { }
            @Override public void close() { }
        };
        assertEquals("nbd://10.0.0.1:10809/disk", DeviceIdentity.of(remote));
    }
}
