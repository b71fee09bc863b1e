package org.ddmapper.target.multipath.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Bio;

/**
 * One request sent down one path. It ends exactly once: by its completion, or by the hang
 * detector when the path takes too long — whichever comes first; the other is ignored. With a
 * path I/O timeout in force the path works on a private {@code bounce} buffer, so a request
 * abandoned after a timeout can never touch the caller's buffer when it completes late.
 */
final class PathIo {
    final Path path;
    final BlockDevice device;
    final int generation;
    final Bio bio;
    final ByteBuffer bounce;
    final long startNanos;
    private final AtomicBoolean ended = new AtomicBoolean();

    PathIo(Path path, BlockDevice device, int generation, Bio bio, ByteBuffer bounce) {
        this.path = path;
        this.device = device;
        this.generation = generation;
        this.bio = bio;
        this.bounce = bounce;
        this.startNanos = System.nanoTime();
    }

    /** Claims the outcome; false when the request already ended the other way. */
    boolean end() { return ended.compareAndSet(false, true); }

    long bytes() { return bio.lengthBytes(); }
}
