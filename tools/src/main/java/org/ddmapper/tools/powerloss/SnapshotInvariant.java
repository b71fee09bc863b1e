package org.ddmapper.tools.powerloss;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.ddmapper.targets.snapshot.internal.store.StoreFormatException;
import org.ddmapper.targets.snapshot.internal.store.StoreImage;
import org.ddmapper.targets.snapshot.internal.store.StoreReader;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyBlock;
import org.ddmapper.tools.verify.VerifyCheck;

/**
 * A snapshot survives a power failure at any moment: for a log of the verifying writer on a
 * snapshot and its origin laid out on one logged device — the origin in sectors
 * {@code [0, originSectors)}, the COW device (persistent store) after it — whose writer sees one
 * device of twice the origin's blocks (the origin's, then the snapshot's). At each crash point:
 * <ul>
 * <li>the store opens as a snapshot's resume reads it ({@link StoreReader}): valid, or still blank
 *     before the writer's first durable point;</li>
 * <li>the snapshot reads back (each chunk from the COW device where the store maps it, else from the
 *     origin) as the origin's data when the snapshot was made ({@code base}, the device before the
 *     log), except where the writer wrote to the snapshot: every block of it is that base data or a
 *     whole write meant for it;</li>
 * <li>every acknowledged-and-flushed write, to the origin or the snapshot, reads back
 *     ({@link VerifyCheck} over the origin and the snapshot's view, the journal prefix the newest
 *     mark names, as {@link VerifierInvariant} does).</li>
 * </ul>
 */
public final class SnapshotInvariant implements InvariantChecker {
    private final JournalPrefixes journal;
    private final long originSectors;
    private final ByteBuffer base;

    /** {@code base}: the logged device before the log began (the origin's data as of the snapshot's creation). */
    public SnapshotInvariant(Path journal, long originSectors, Path base) throws IOException {
        this.journal = new JournalPrefixes(journal);
        this.originSectors = originSectors;
        try (FileChannel b = FileChannel.open(base, StandardOpenOption.READ)) {
            this.base = ByteBuffer.allocate(Math.toIntExact(originSectors * 512));
            while (this.base.hasRemaining() && b.read(this.base, this.base.position()) >= 0) { }
            this.base.clear();
        }
    }

    @Override
    public String name() { return "snapshot"; }

    @Override
    public List<String> check(CrashPoint point, FileChannel image) throws IOException {
        Journal.State state = journal.at(point);
        long cowSectors = image.size() / 512 - originSectors;
        Map<Long, Long> exceptions = new HashMap<>();
        StoreImage store;
        try {
            store = StoreReader.read(cowSource(image), cowSectors, 0, 512, 512, exceptions::put);
        } catch (StoreFormatException e) {
            return List.of("the snapshot store does not open: " + e.getMessage());
        }
        if (store.kind() != StoreImage.Kind.VALID) {
            return point.lastMark() == null ? List.of() : List.of("the snapshot store is " + store.kind().name().toLowerCase() + " after a durable point");
        }
        int blockBytes = state.blockBytes();
        long originBlocks = originSectors * 512 / blockBytes;
        if (state.blocks() != 2 * originBlocks)
            return List.of("the journal's device has " + state.blocks() + " blocks, not the origin's " + originBlocks + " twice");
        int chunkBytes = store.chunkSectors() * 512;
        List<String> problems = new ArrayList<>();
        ImageReader origin = new ImageReader(image);
        long runOfWriter = state.run();
        VerifyCheck.Report report = VerifyCheck.check(state, (index, bytes) -> {
            if (index < originBlocks) return origin.read(index * bytes, bytes);
            long at = (index - originBlocks) * bytes; // byte in the snapshot
            Long cowChunk = exceptions.get(at / chunkBytes);
            ByteBuffer view = cowChunk == null ? readAt(image, at, bytes) : readAt(image, originSectors * 512 + cowChunk * chunkBytes + at % chunkBytes, bytes);
            if (!isWriterBlock(view, runOfWriter, index) && !view.equals(base.duplicate().position((int) at).limit((int) at + bytes)))
                problems.add("snapshot block " + (index - originBlocks) + ": neither the origin's data when the snapshot was made nor a write to it"
                        + (cowChunk == null ? " (read from the origin)" : " (read from COW chunk " + cowChunk + ")"));
            return view;
        });
        problems.addAll(report.violations());
        return problems;
    }

    private static boolean isWriterBlock(ByteBuffer block, long run, long index) {
        return VerifyBlock.decode(block) instanceof VerifyBlock.Content.Written w && w.run() == run && w.block() == index;
    }

    private static ByteBuffer readAt(FileChannel image, long offset, int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        while (b.hasRemaining() && image.read(b, offset + b.position()) >= 0) { }
        return b.clear();
    }

    /** The COW device: the image past the origin, as the store reader reads it. */
    private StoreReader.ChunkSource cowSource(FileChannel image) {
        return (sector, n) -> {
            try {
                return CompletableFuture.completedFuture(readAt(image, (originSectors + sector) * 512, n));
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
            }
        };
    }
}
