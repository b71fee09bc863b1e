package org.ddmapper.it.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Endpoint;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.it.support.Peers;

/** The NBD bundle in a framework: endpoints, exports following the devices, and the client as a table device. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NbdServerInFrameworkTest {

    @Test
    void endpointsCarryTheRealBoundAddress() throws Exception {
        try (NbdFixture fx = new NbdFixture()) {
            assertTrue(fx.address.startsWith("127.0.0.1:"), fx.address);
            assertNotEquals("127.0.0.1:0", fx.address, "the bound port, not 0");
            Endpoint unix = fx.fw.service(Endpoint.class, "(kind=nbd-unix)", 15_000);
            assertNull(unix.failure());
            assertEquals(fx.socket.toString(), unix.address());
            assertTrue(Files.exists(fx.socket));
        }
    }

    @Test
    void aPortInUseIsReportedAsTheEndpointsFailure() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
             EmbeddedFramework fw = EmbeddedFramework.builder()
                     .property("ddmapper.nbd", "127.0.0.1:" + taken.getLocalPort()).start()) {
            Endpoint e = fw.service(Endpoint.class, "(kind=nbd)", 15_000);
            assertEquals("127.0.0.1:" + taken.getLocalPort() + ": address already in use", e.failure());
        }
    }

    @Test
    void noneMeansNoTcpListener() throws Exception {
        try (EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.nbd", "none").start()) {
            fw.service(DeviceManager.class);
            assertThrows(Throwable.class, () -> fw.service(Endpoint.class, "(kind=nbd)", 1500));
        }
    }

    @Test
    void exportsFollowTheDevicesAndARemovedDeviceAnswersCleanly() throws Exception {
        try (NbdFixture fx = new NbdFixture()) {
            fx.linearDevice("first", 4 << 20);
            try (RawNbd c = new RawNbd(fx.address, "first")) {
                assertEquals(4 << 20, c.size);
                assertEquals(1, fx.dm.info(DeviceRef.of("first")).openCount(), "an NBD connection counts as an opener");
                DmException busy = assertThrows(DmException.class, () -> fx.dm.remove(DeviceRef.of("first"), false));
                assertTrue(busy.getMessage().length() > 0);
                fx.dm.remove(DeviceRef.of("first"), true);
                c.send(RawNbd.CMD_READ, 1, 0, 4096, null);
                assertEquals(108, c.reply(1, new byte[4096]), "ESHUTDOWN: the device was removed");
            }
            String nbdinfo = Peers.require("nbdinfo");
            Peers.Result r = Peers.run(30, nbdinfo, fx.uri("first"));
            assertNotEquals(0, r.exit(), "a removed device is no export: " + r.output());
            fx.linearDevice("second", 4 << 20);
            assertEquals(0, Peers.run(30, nbdinfo, fx.uri("second")).exit(), "a new device is exported at once");
        }
    }

    @Test
    void aSuspendedDeviceHoldsRequestsUntilResume() throws Exception {
        try (NbdFixture fx = new NbdFixture()) {
            fx.linearDevice("held", 4 << 20);
            try (RawNbd c = new RawNbd(fx.address, "held")) {
                fx.dm.suspend(DeviceRef.of("held"), false);
                byte[] data = new byte[4096];
                new Random(3).nextBytes(data);
                c.send(RawNbd.CMD_WRITE, 1, 8192, 4096, data);
                c.socket.setSoTimeout(300);
                assertThrows(java.net.SocketTimeoutException.class, () -> c.in.readInt(), "the write waits");
                fx.dm.resume(DeviceRef.of("held"));
                c.socket.setSoTimeout(10_000);
                assertEquals(0x67446698, c.in.readInt());
                assertEquals(0, c.in.readInt());
                assertEquals(1, c.in.readLong());
                assertArrayEquals(data, java.util.Arrays.copyOfRange(Files.readAllBytes(fx.dir.resolve("held.img")), 8192, 8192 + 4096));
            }
        }
    }

    @Test
    void anNbdExportServesAsATableDevice() throws Exception {
        try (NbdFixture fx = new NbdFixture()) {
            Path backing = fx.linearDevice("backend", 8 << 20);
            fx.dm.create("front", "0 " + (8 << 20) / 512 + " linear " + fx.uri("backend") + " 0");
            fx.dm.create("front-unix", "0 " + (8 << 20) / 512 + " linear " + fx.unixUri("backend") + " 0");
            assertEquals(fx.uri("backend"), fx.dm.deps(DeviceRef.of("front")).get(0));
            byte[] data = new byte[1 << 20];
            new Random(4).nextBytes(data);
            try (DeviceManager.OpenDevice front = fx.dm.open(DeviceRef.of("front"))) {
                CompletableFuture<IoStatus> w = new CompletableFuture<>();
                front.submit(Bio.write(2048, ByteBuffer.wrap(data), Bio.FUA, w::complete));
                assertEquals(IoStatus.OK, w.get(20, TimeUnit.SECONDS));
            }
            assertArrayEquals(data, java.util.Arrays.copyOfRange(Files.readAllBytes(backing), 2048 * 512, 2048 * 512 + data.length));
            try (DeviceManager.OpenDevice viaUnix = fx.dm.open(DeviceRef.of("front-unix"))) {
                ByteBuffer back = ByteBuffer.allocate(data.length);
                CompletableFuture<IoStatus> r = new CompletableFuture<>();
                viaUnix.submit(Bio.read(2048, back, r::complete));
                assertEquals(IoStatus.OK, r.get(20, TimeUnit.SECONDS));
                assertArrayEquals(data, back.array());
            }
            DmException refused = assertThrows(DmException.class,
                    () -> fx.dm.create("broken", "0 8 linear nbd://127.0.0.1:1/x 0"));
            assertTrue(refused.getMessage().contains("nbd://127.0.0.1:1/x"), refused.getMessage());
            assertFalse(fx.dm.list().stream().anyMatch(d -> d.name().equals("broken")), "a failed create changes nothing");
        }
    }
}
