package org.ddmapper.control.internal;

import java.io.IOException;
import java.nio.file.Path;
import org.ddmapper.spi.testkit.MemoryDeviceManager;
import org.ddmapper.control.ddlink.DdlinkClient;

/** A ddlink server on a fresh socket in a temp dir, over an in-memory device manager. */
final class ServerFixture implements AutoCloseable {
    final MemoryDeviceManager manager = new MemoryDeviceManager();
    final Path socket;
    final DdlinkServer server;

    ServerFixture(Path dir) throws IOException {
        this(dir, null);
    }

    ServerFixture(Path dir, Path allowList) throws IOException {
        socket = dir.resolve("run").resolve("control.sock");
        server = new DdlinkServer(manager, socket, allowList, "Library version:   ddmapper-api test\nDriver version:    ddmapper test\n");
        server.start();
    }

    DdlinkClient client() throws IOException {
        return DdlinkClient.connect(socket);
    }

    @Override
    public void close() {
        server.close();
    }
}
