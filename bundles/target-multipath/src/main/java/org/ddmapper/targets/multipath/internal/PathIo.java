package org.ddmapper.targets.multipath.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Bio;

/**
 * One request sent down one path. It ends exactly once: by its completion, by the hang
 * detector when the path takes too long, or when its path is failed (then it is retried on
 * another path) — whichever comes first; the others are ignored. With a path I/O timeout in
 * force the path works on a private {@code bounce} buffer, so a request abandoned this way can
 * never touch the caller's buffer when it completes late.
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

    /** Claims the outcome; false when the request already ended another way. */
    boolean end() { return ended.compareAndSet(false, true); }

    boolean isEnded() { return ended.get(); }

    /**
     * Whether the request may be given up on while its path still holds it: it shares no
     * buffer with the caller (a private bounce buffer, or an operation without data), so a late
     * answer cannot touch what the caller gets back.
     */
    boolean abandonable() { return bounce != null || !bio.op().hasData(); }

    long bytes() { return bio.lengthBytes(); }
}
