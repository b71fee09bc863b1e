package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Reads an image block by block through a 1 MiB window (a checker scans the whole image at every
 * crash point: one read per block would cost a system call each).
 */
final class ImageReader {
    private static final int WINDOW_BYTES = 1 << 20;
    private final FileChannel image;
    private final ByteBuffer window = ByteBuffer.allocate(WINDOW_BYTES);
    private long windowStart = -1;

    ImageReader(FileChannel image) {
        this.image = image;
    }

    /** The {@code bytes} at {@code offset} (a view; valid until the next call). {@code bytes} must divide the window. */
    ByteBuffer read(long offset, int bytes) throws IOException {
        long start = offset - offset % WINDOW_BYTES;
        if (start != windowStart) {
            window.clear();
            while (window.hasRemaining() && image.read(window, start + window.position()) >= 0) { }
            window.flip();
            windowStart = start;
        }
        int at = (int) (offset - start);
        if (at + bytes > window.limit()) return ByteBuffer.allocate(bytes); // past the end: reads as zeros
        return window.duplicate().position(at).limit(at + bytes).slice();
    }
}
