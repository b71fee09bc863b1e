package org.ddmapper.targets.multipath.internal;

import static org.ddmapper.targets.multipath.internal.Requests.get;
import static org.ddmapper.targets.multipath.internal.Requests.pattern;
import static org.ddmapper.targets.multipath.internal.Requests.read;
import static org.ddmapper.targets.multipath.internal.Requests.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.spi.testkit.FakeTargetContext;

/** Real files as paths: two handles on one backing file, one of them closed under the map. */
@Timeout(10)
class FilePathsTest {
    @TempDir Path dir;

    /** A minimal file-backed device (the core's file provider is not reachable from a unit test). */
    static final class FileDevice implements BlockDevice {
        private final String reference;
        private final FileChannel channel;

        FileDevice(Path file) throws IOException {
            reference = file.toString();
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }

        @Override public String reference() { return reference; }

        @Override
        public long sizeSectors() {
            try {
                return channel.size() / Bio.SECTOR_BYTES;
            } catch (IOException e) {
                return 0;
            }
        }

        @Override
        public void submit(Bio bio) {
            try {
                ByteBuffer data = bio.data();
                long pos = bio.sector() * Bio.SECTOR_BYTES;
                if (bio.op() == BioOp.READ) while (data.hasRemaining()) channel.read(data, pos + data.position());
                else if (bio.op() == BioOp.WRITE) while (data.hasRemaining()) channel.write(data, pos + data.position());
                else if (bio.op() == BioOp.FLUSH) channel.force(false);
                bio.complete(IoStatus.OK);
            } catch (IOException e) {
                bio.fail(Errno.EIO, e.toString());
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    @Test
    void writesSurviveAPathWhoseFileHandleIsClosedUnderIt() throws Exception {
        Path file = dir.resolve("lun");
        Files.write(file, new byte[1 << 20]);
        try (FakeTargetContext ctx = new FakeTargetContext(2048).named("mpatha")) {
            FileDevice first = new FileDevice(file);
            ctx.openWith("/first", ref -> first);
            ctx.openWith("/second", ref -> {
                try {
                    return new FileDevice(file);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            MultipathTarget t = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, "0 0 1 1 round-robin 0 2 0 /first /second"), null);
            t.resume();
            byte[] before = pattern(8192, 1);
            assertEquals(IoStatus.OK, get(write(t, 0, before)));
            first.close(); // the handle dies: its requests fail with ClosedChannelException (EIO)
            byte[] after = pattern(8192, 2);
            for (int i = 0; i < 8; i++) assertEquals(IoStatus.OK, get(write(t, 16L * i, after)));
            assertEquals(1, ctx.events(EventKind.PATH_FAILED).size());
            ByteBuffer back = ByteBuffer.allocate(8192);
            assertEquals(IoStatus.OK, get(read(t, 112, back)));
            assertArrayEquals(after, back.array());
            byte[] onDisk = new byte[8192];
            System.arraycopy(Files.readAllBytes(file), 112 * 512, onDisk, 0, 8192);
            assertArrayEquals(after, onDisk);
            assertEquals(IoStatus.OK, get(flush(t)));
            // reinstating reopens nothing by itself: the closed handle fails again at once
            t.message(Message.of("reinstate_path", "/first"));
            assertEquals(IoStatus.OK, get(write(t, 0, before)));
            assertEquals(IoStatus.OK, get(write(t, 0, before)));
            assertEquals(2, ctx.events(EventKind.PATH_FAILED).size());
        }
    }

    private static java.util.concurrent.CompletableFuture<IoStatus> flush(MultipathTarget t) {
        java.util.concurrent.CompletableFuture<IoStatus> f = new java.util.concurrent.CompletableFuture<>();
        t.map(Bio.flush(f::complete));
        return f;
    }
}
