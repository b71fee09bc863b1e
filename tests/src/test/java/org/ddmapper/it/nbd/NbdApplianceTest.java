package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.it.support.Peers;

/** Real clients against the booted appliance (bin/ddmapper): the demo export and a device made with ddsetup. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NbdApplianceTest {

    @Test
    void realClientsAgainstTheRunningAppliance() throws Exception {
        String nbdinfo = Peers.require("nbdinfo");
        String qemuImg = Peers.require("qemu-img");
        String fio = Peers.require("fio");
        try (Appliance app = Appliance.start()) {
            String list = Peers.ok(30, nbdinfo, "--list", "nbd://" + app.nbdAddress());
            assertTrue(list.contains("export=\"demo\""), list);

            Path backing = app.home().resolve("data").resolve("nbd-it.img");
            Files.createDirectories(backing.getParent());
            try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
                f.setLength(32 << 20);
            }
            Appliance.Exit created = app.ddsetup("create", "nbdit", "--table", "0 65536 linear " + backing + " 0");
            assertEquals(0, created.code(), created.toString());

            Path src = app.home().resolve("src.img");
            byte[] data = new byte[32 << 20];
            new Random(7).nextBytes(data);
            Files.write(src, data);
            Peers.ok(60, qemuImg, "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), app.nbdUri("nbdit"));
            assertArrayEquals(data, Files.readAllBytes(backing), "qemu-img convert in: bytes on the backing file");
            Path out = app.home().resolve("out.img");
            Peers.ok(60, qemuImg, "convert", "-f", "raw", "-O", "raw", app.nbdUri("nbdit"), out.toString());
            assertArrayEquals(data, Files.readAllBytes(out), "qemu-img convert out");

            Peers.ok(90, fio, "--name=verify", "--ioengine=nbd", "--uri=" + app.nbdUri("nbdit"), "--rw=randwrite",
                    "--bs=4k", "--iodepth=16", "--size=16M", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                    "--verify_state_save=0", "--numjobs=2", "--offset_increment=16M", "--group_reporting");
            // bin/ddmapper opens the JDK's socket descriptors to the nbd bundle, for corked reply headers.
            String log = Files.readString(app.log());
            assertTrue(log.contains("TCP replies of 65536 bytes and more go out header first, with MSG_MORE"), log);

            Appliance.Exit stopped = app.stop();
            assertEquals(0, stopped.code(), stopped.toString());
        }
    }
}
