package org.ddmapper.targets.multipath.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.Target;

/** Helpers that send requests to a target and wait (bounded) for their outcome. */
final class Requests {
    private Requests() {}

    static CompletableFuture<IoStatus> write(Target t, long sector, byte[] data) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        t.map(Bio.write(sector, ByteBuffer.wrap(data.clone()), 0, f::complete));
        return f;
    }

    static CompletableFuture<IoStatus> read(Target t, long sector, ByteBuffer into) {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        t.map(Bio.read(sector, into, f::complete));
        return f;
    }

    static IoStatus get(CompletableFuture<IoStatus> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    static byte[] pattern(int bytes, int seed) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }
}
