package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DmException;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.StreamSockets;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reconnect_path <path> negotiated size=BYTES flags=0xNNNN} end to end: the test itself
 * connects to a new path server (nbdkit), does the NBD handshake on the raw socket, and passes
 * the socket in transmission phase to the appliance with the message over the control socket
 * (SCM_RIGHTS); the size and transmission flags it read from the server go with the message.
 * The read that waited for a path completes over it, and new I/O (with a flush) runs on it.
 */
@Timeout(180)
class NegotiatedSocketTest {
    @TempDir Path dir;

    /** read/write on a raw descriptor (a java.net socket cannot be handed over as one). */
    interface C extends Library {
        C LIB = Native.load("c", C.class);

        long read(int fd, byte[] buffer, long count);

        long write(int fd, byte[] buffer, long count);
    }

    /** What the server told in the handshake. */
    record Negotiated(int fd, long sizeBytes, int flags) {}

    @Test
    void aSocketNegotiatedByTheCallerCarriesTheServersSizeAndFlagsAndIoResumesOnIt() throws Exception {
        Peers.require("nbdkit");
        Peers.require("qemu-io");
        Path etc = ReconnectStage.quietEtc(dir);
        Path file = ReconnectStage.lun(dir);
        try (NbdPeer first = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir);
             Appliance appliance = Appliance.builder().home(dir.resolve("home")).args("--etc", etc.toString()).start()) {
            String uri = ReconnectStage.mapWrittenThrough(appliance, first);

            first.kill();
            try (NbdPeer moved = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir)) {
                Process waiting = new ProcessBuilder(Peers.require("qemu-io"), "-f", "raw", "-c", "read -P 0xab 0 64k", uri)
                        .redirectErrorStream(true).start();
                try {
                    Waits.await("the path fails and the read queues", () -> status(appliance).contains(first.reference() + " F 1"));
                    assertTrue(waiting.isAlive(), "the read waits: the only path is gone and the map queues");

                    Negotiated n = handshake(moved.port);
                    assertEquals(ReconnectStage.LUN_BYTES, n.sizeBytes());
                    assertTrue((n.flags() & 1) != 0, "the server sent NBD_FLAG_HAS_FLAGS: 0x" + Integer.toHexString(n.flags()));
                    try (DdlinkClient control = DdlinkClient.connect(appliance.controlSocket())) {
                        // refused: the flags must be numbers the server sent
                        DmException bad = Assertions.assertThrows(DmException.class, () -> message(control,
                                "reconnect_path 1 negotiated flags=all", n.fd()));
                        assertTrue(bad.getMessage().contains("flags 'all' are not the 16-bit transmission flags"), bad.getMessage());
                        Negotiated again = handshake(moved.port); // a fresh connection for the real attempt
                        Fds.close(n.fd());
                        message(control, "reconnect_path 1 negotiated size=" + again.sizeBytes() + " flags=0x"
                                + Integer.toHexString(again.flags()), again.fd());
                        Fds.close(again.fd()); // the appliance holds its own copy now
                    }
                    assertTrue(waiting.waitFor(30, TimeUnit.SECONDS), "the waiting read completes");
                    String out = new String(waiting.getInputStream().readAllBytes());
                    assertEquals(0, waiting.exitValue(), out);
                    assertFalse(out.contains("Pattern verification failed"), out);
                } finally {
                    if (waiting.isAlive()) Peers.kill(waiting);
                }
                // new I/O, flushes included, goes over the adopted socket
                ReconnectStage.qemuIo(uri, "write -P 0xcd 64k 64k");
                ReconnectStage.qemuIo(uri, "flush");
                ReconnectStage.qemuIo(uri, "read -P 0xcd 64k 64k");
                assertTrue(status(appliance).contains(first.reference() + " A 1"), status(appliance));
                Appliance.Exit paths = appliance.ddsetup("message", "mpatha", "@0", "show", "paths");
                assertTrue(paths.stdout().contains("passed-socket-negotiated"), paths.toString());
            }
        }
    }

    private static String status(Appliance appliance) {
        try {
            return appliance.ddsetup("status", "mpatha").stdout();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void message(DdlinkClient control, String words, int fd) throws Exception {
        byte[] payload = new PayloadWriter().u64(0).text("mpatha").nul().text(words).toBytes();
        DdlinkClient.ok(control.call(Op.MESSAGE, 0, payload, fd));
    }

    /** Fixed-newstyle handshake with NBD_OPT_EXPORT_NAME (default export) on a raw socket. */
    private static Negotiated handshake(int port) throws Exception {
        int fd = StreamSockets.connectTcp("127.0.0.1", port);
        ByteBuffer greeting = ByteBuffer.wrap(readFully(fd, 18));
        assertEquals(0x4e42444d41474943L, greeting.getLong(), "NBDMAGIC");
        assertEquals(0x49484156454f5054L, greeting.getLong(), "IHAVEOPT");
        int serverFlags = greeting.getShort() & 0xFFFF;
        boolean noZeroes = (serverFlags & 2) != 0;
        ByteBuffer hello = ByteBuffer.allocate(4 + 16);
        hello.putInt(1 | (noZeroes ? 2 : 0)); // FIXED_NEWSTYLE [| NO_ZEROES]
        hello.putLong(0x49484156454f5054L).putInt(1).putInt(0); // NBD_OPT_EXPORT_NAME, ""
        writeFully(fd, hello.array());
        ByteBuffer reply = ByteBuffer.wrap(readFully(fd, 10));
        long size = reply.getLong();
        int flags = reply.getShort() & 0xFFFF;
        if (!noZeroes) readFully(fd, 124);
        return new Negotiated(fd, size, flags);
    }

    private static byte[] readFully(int fd, int n) {
        byte[] all = new byte[n];
        int got = 0;
        while (got < n) {
            byte[] part = new byte[n - got];
            long r = C.LIB.read(fd, part, part.length);
            if (r <= 0) throw new AssertionError("the server closed the handshake after " + got + " bytes");
            System.arraycopy(part, 0, all, got, (int) r);
            got += (int) r;
        }
        return all;
    }

    private static void writeFully(int fd, byte[] data) {
        long w = C.LIB.write(fd, data, data.length);
        assertEquals(data.length, w, "short write in the handshake");
    }
}
