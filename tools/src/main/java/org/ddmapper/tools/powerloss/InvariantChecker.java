package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.List;

/**
 * What must hold on a device after a power failure at any moment: the power-loss replay
 * ({@link PowerLoss}) rebuilds the device's image at each flush and FUA point and at random points
 * between them, and asks every checker. A checker reads the image (never writes it) and names each
 * problem; an empty list means every invariant it knows holds. Add one per on-disk format (a
 * snapshot store must open consistent; a mirror log's dirty bits must cover every region whose legs
 * may differ) and list it in {@link Checkers}.
 */
public interface InvariantChecker {

    /** The name used on the command line ({@code --check NAME}). */
    String name();

    /** The problems of {@code image} (the device's bytes from offset 0) at {@code point}. */
    List<String> check(CrashPoint point, FileChannel image) throws IOException;
}
