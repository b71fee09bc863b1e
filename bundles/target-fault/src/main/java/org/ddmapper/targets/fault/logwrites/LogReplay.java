package org.ddmapper.targets.fault.logwrites;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Replays log entries onto an image of the data device (a file of {@code imageSectors}, as
 * xfstests' replay-log does onto a device): a write's data goes to its sectors, a discard's range
 * reads as zeros afterwards (replay-log's zero-out for devices without discard: what a discarded
 * range holds is unspecified, and zeros are what this device's readers get), flushes and marks
 * change nothing. An entry reaching past the image's end is a damaged log, refused by name.
 */
public final class LogReplay {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;

    private final LogReader log;
    private final FileChannel image;
    private final long imageSectors;

    public LogReplay(LogReader log, FileChannel image, long imageSectors) {
        this.log = log;
        this.image = image;
        this.imageSectors = imageSectors;
    }

    /** Applies one entry. */
    public void apply(LogReader.Entry e) throws IOException {
        if (e.has(LogFormat.MARK) || e.header().blocks() == 0) return;
        if (e.sector() > imageSectors || e.lengthSectors() > imageSectors - e.sector())
            throw new LogReader.LogFormatException("entry " + e.index() + " (" + e + ") reaches past the device's " + imageSectors + " sectors");
        long at = e.sector() * 512;
        if (e.has(LogFormat.DISCARD)) {
            zero(at, e.lengthSectors() * 512);
        } else {
            ByteBuffer data = log.data(e);
            while (data.hasRemaining()) image.write(data, at + data.position());
        }
    }

    private void zero(long at, long bytes) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(bytes, ZERO_CHUNK_BYTES));
        for (long done = 0; done < bytes; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - done));
            while (zeros.hasRemaining()) done += image.write(zeros, at + done);
        }
    }
}
