package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;

/**
 * The stage of the socket-reconnect tests: the distribution's etc/ without boot tables and with a
 * path monitor that stays out of the way (polling every 60 s), so only a message can bring a path
 * back; a 64 MiB LUN file; qemu-io against the export.
 */
final class ReconnectStage {
    static final long LUN_BYTES = 64L * 1024 * 1024;

    private ReconnectStage() {}

    /** A copy of the distribution's etc/ under {@code dir}: no boot tables, polling_interval 60. */
    static Path quietEtc(Path dir) throws Exception {
        Path from = Appliance.distribution().resolve("etc");
        Path etc = dir.resolve("etc");
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = etc.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else if (!p.getParent().getFileName().toString().equals("tables")) Files.copy(p, target);
            }
        }
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n polling_interval 60\n}\n");
        return etc;
    }

    /** A sparse {@link #LUN_BYTES} file the path servers share. */
    static Path lun(Path dir) throws Exception {
        Path file = dir.resolve("lun.img");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), LUN_BYTES - 1);
        }
        return file;
    }

    /**
     * Creates map {@code mpatha}: one queueing path over {@code first}, the size of the LUN; writes
     * 64 KiB of 0xab at 0 through it and returns the map's NBD URI.
     */
    static String mapWrittenThrough(Appliance appliance, NbdPeer first) throws Exception {
        Appliance.Exit created = appliance.ddsetup("create", "mpatha", "--table",
                "0 " + LUN_BYTES / 512 + " multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 0 " + first.reference());
        assertEquals(0, created.code(), created.toString());
        String uri = appliance.nbdUri("mpatha");
        qemuIo(uri, "write -P 0xab 0 64k");
        return uri;
    }

    /** Runs one qemu-io command against {@code uri}; a pattern mismatch fails the test. */
    static void qemuIo(String uri, String command) throws Exception {
        String out = Peers.ok(60, Peers.require("qemu-io"), "-f", "raw", "-c", command, uri);
        assertFalse(out.contains("Pattern verification failed"), out);
    }
}
