package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Peers;

/**
 * What ./ddmapper alone gives: the demo device from etc/tables/demo.table, served over NBD on the port
 * of the ready line, which real clients list, write and read, down to the bytes in HOME/data/demo.img.
 */
@Timeout(180)
class NbdDemoTest {

    @TempDir
    Path home;

    @Test
    void realClientsListWriteAndReadTheDemoExport() throws Exception {
        String nbdinfo = Peers.require("nbdinfo");
        String qemuIo = Peers.require("qemu-io");
        try (Appliance appliance = Appliance.start(home)) {
            // the ready line comes once the boot devices serve: no polling
            String listing = Peers.ok(30, nbdinfo, "--list", "nbd://" + appliance.nbdAddress());
            assertTrue(listing.contains("export=\"demo\""), listing);
            assertTrue(listing.contains("export-size: 67108864"), listing);

            String io = Peers.ok(30, qemuIo, "-f", "raw", appliance.nbdUri("demo"),
                    "-c", "write -P 0x5a 1M 64k", "-c", "flush", "-c", "read -P 0x5a 1M 64k");
            assertTrue(io.contains("read 65536/65536 bytes at offset 1048576"), io);

            byte[] disk = Files.readAllBytes(home.resolve("data/demo.img"));
            byte[] expected = new byte[65536];
            Arrays.fill(expected, (byte) 0x5a);
            assertTrue(Arrays.equals(expected, Arrays.copyOfRange(disk, 1 << 20, (1 << 20) + 65536)),
                    "the bytes are in HOME/data/demo.img");
            assertEquals(0, disk[(1 << 20) - 1], "nothing written before the range");
            appliance.stop();
        }
    }

    @Test
    void withNbdNoneAndAUnixSocketTheDemoIsServedOnTheSocketOnly() throws Exception {
        String nbdinfo = Peers.require("nbdinfo");
        Path socket = home.resolve("run/nbd.sock");
        try (Appliance appliance = Appliance.start(home, "--nbd", "none", "--nbd-socket", socket.toString())) {
            assertEquals("none", appliance.nbdAddress(), appliance.readyLine());
            assertEquals(socket, appliance.nbdSocket(), appliance.readyLine());
            String uri = "nbd+unix:///?socket=" + socket;
            String listing = Peers.ok(30, nbdinfo, "--list", uri);
            assertTrue(listing.contains("export=\"demo\""), listing);
            appliance.stop();
        }
    }
}
