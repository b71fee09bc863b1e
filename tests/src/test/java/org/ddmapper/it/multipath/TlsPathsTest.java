package org.ddmapper.it.multipath;

import static org.ddmapper.it.support.Io.get;
import static org.ddmapper.it.support.Io.pattern;
import static org.ddmapper.it.support.Io.readAsync;
import static org.ddmapper.it.support.Io.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.Peers;
import org.ddmapper.spi.testkit.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multipath over path servers that require TLS: nbdkit {@code --tls=require} and qemu-nbd
 * {@code --tls-creds} (which verifies the client's certificate) exporting one file, reached as
 * {@code nbds://}. Killing one fails its path (the reason in the event) and I/O goes on over the
 * other; restarted, it is reinstated over TLS by the nbd checker, and then carries the I/O alone.
 */
@Timeout(180)
class TlsPathsTest {
    static final long SECTORS = 16384; // 8 MiB
    @TempDir Path dir;
    private MultipathFixture fx;
    private NbdPeer nbdkit;
    private NbdPeer qemu;

    @AfterEach
    void tearDown() {
        if (nbdkit != null) nbdkit.close();
        if (qemu != null) qemu.close();
        if (fx != null) fx.close();
    }

    @Test
    void failoverAndReinstateOverTls() throws Exception {
        Peers.require("nbdkit");
        Peers.require("qemu-nbd");
        TestCertificates certs = TestCertificates.make(Files.createDirectories(dir.resolve("certs")));
        fx = new MultipathFixture(dir, "defaults {\n polling_interval 0.2\n max_polling_interval 0.4\n checker_timeout 1\n}\n");
        Path file = fx.backingFile("lun.img", SECTORS);
        nbdkit = NbdPeer.tcpTls(NbdPeer.Kind.NBDKIT, file, dir, certs.server, certs.client);
        qemu = NbdPeer.tcpTls(NbdPeer.Kind.QEMU_NBD, file, dir, certs.server, certs.client);
        fx.dm.create("mptls", "0 " + SECTORS + " multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 0 "
                + nbdkit.reference() + " " + qemu.reference());
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mptls"))) {
            byte[] first = pattern(65536, 1);
            assertEquals(IoStatus.OK, get(writeAsync(mp, 0, first)));

            nbdkit.kill();
            byte[] second = pattern(65536, 2);
            for (int i = 0; i < 8; i++) assertEquals(IoStatus.OK, get(writeAsync(mp, 128L * (i + 1), second)), "write " + i);
            List<DeviceEvent> failed = fx.awaitEvents("mptls", EventKind.PATH_FAILED, 1, 20_000);
            assertEquals(nbdkit.reference(), failed.get(0).details().get("path"), failed.get(0).toLine());
            assertTrue(!failed.get(0).details().get("reason").isEmpty(), failed.get(0).toLine());

            nbdkit.start();
            fx.awaitEvents("mptls", EventKind.PATH_REINSTATED, 1, 30_000);
            qemu.kill();
            byte[] third = pattern(65536, 3);
            for (int i = 0; i < 8; i++) assertEquals(IoStatus.OK, get(writeAsync(mp, 2048 + 128L * i, third)), "after failover back " + i);
            ByteBuffer back = ByteBuffer.allocate(65536);
            assertEquals(IoStatus.OK, get(readAsync(mp, 0, back)));
            assertArrayEquals(first, back.array());
            byte[] onDisk = new byte[65536];
            try (var ch = java.nio.channels.FileChannel.open(file)) {
                ch.read(ByteBuffer.wrap(onDisk), 2048L * 512);
            }
            assertArrayEquals(third, onDisk, "written over TLS through the reinstated nbdkit path");
        }
    }
}
