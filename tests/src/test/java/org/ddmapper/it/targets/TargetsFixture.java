package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;

/** A framework with the built bundles, its DeviceManager, and bounded synchronous I/O for the target tests. */
final class TargetsFixture implements AutoCloseable {
    /** The target types of bundles target-linear and target-fault. */
    static final List<String> OUR_TYPES = List.of("linear", "striped", "error", "zero", "delay", "flakey");
    static final long IO_TIMEOUT_SECONDS = 10;

    final EmbeddedFramework fw;
    final DeviceManager dm;

    TargetsFixture() {
        fw = EmbeddedFramework.start();
        try {
            dm = fw.service(DeviceManager.class);
            await("target types " + OUR_TYPES, () -> OUR_TYPES.stream()
                    .allMatch(n -> dm.targets().stream().anyMatch(t -> t.name().equals(n))));
        } catch (RuntimeException | AssertionError e) {
            fw.close();
            throw e;
        }
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    static CompletableFuture<IoStatus> submit(BlockDevice device, java.util.function.Function<java.util.function.Consumer<IoStatus>, Bio> request) {
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        device.submit(request.apply(done::complete));
        return done;
    }

    static IoStatus await(CompletableFuture<IoStatus> f) {
        try {
            return f.get(IO_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request did not complete within " + IO_TIMEOUT_SECONDS + " s", e);
        }
    }

    static IoStatus read(BlockDevice device, long sector, ByteBuffer into) {
        return await(submit(device, c -> Bio.read(sector, into, c)));
    }

    static IoStatus write(BlockDevice device, long sector, byte[] data, int flags) {
        return await(submit(device, c -> Bio.write(sector, ByteBuffer.wrap(data), flags, c)));
    }

    static IoStatus flush(BlockDevice device) {
        return await(submit(device, Bio::flush));
    }

    @Override
    public void close() { fw.close(); }
}
