package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.ddmapper.api.Errno;

/**
 * Reads a persistent exception store as the kernel does when a snapshot is activated
 * (read_header, read_exceptions): the header decides the chunk size (it overrides the table's),
 * then metadata areas are read in order, each entry up to the first whose new_chunk is 0 going to
 * the sink, until an area that is not full. The next free chunk is one past the highest COW chunk
 * in use, stepped over a metadata chunk.
 *
 * <p>Outside input: a COW device can hold anything. Every way it can be wrong ends in a
 * {@link StoreFormatException} naming it — a foreign magic, a version other than 1, a chunk size
 * the kernel refuses, an area chain running past the end of the device, an entry whose COW chunk
 * lies outside the device or on the header or a metadata area (the kernel does not check these
 * and would read garbage or fail I/O later), a read that fails or takes longer than
 * {@link #READ_TIMEOUT_SECONDS}. Nothing is written here.
 */
public final class StoreReader {
    /** Metadata areas read ahead of the one being looked at (the kernel's DM_PREFETCH_CHUNKS is 12). */
    static final int READ_AHEAD_AREAS = 12;
    /** A read of the store that takes longer than this fails the activation. */
    public static final long READ_TIMEOUT_SECONDS = 30;

    /** Reads {@code bytes} at {@code sector} of the COW device into a new buffer (positioned at 0). */
    @FunctionalInterface
    public interface ChunkSource {
        CompletableFuture<ByteBuffer> read(long sector, int bytes);
    }

    /** Receives each exception found: origin chunk, COW chunk. */
    @FunctionalInterface
    public interface Sink {
        void exception(long oldChunk, long newChunk);
    }

    private StoreReader() {}

    /**
     * Reads the store on a COW device of {@code cowSectors}. {@code tableChunkSectors} is the
     * table's chunk size (0: the default, or the header's); the block sizes are the devices'
     * logical blocks, for the chunk size rules.
     */
    public static StoreImage read(ChunkSource source, long cowSectors, int tableChunkSectors, int originBlockBytes,
                                  int cowBlockBytes, Sink sink) throws StoreFormatException {
        int chunk = tableChunkSectors != 0 ? tableChunkSectors : ChunkSizes.defaultFor(cowBlockBytes);
        int headerBytes = Math.max(512, cowBlockBytes);
        if (cowSectors * 512 < headerBytes)
            throw new StoreFormatException(Errno.EINVAL, "the COW device (" + cowSectors + " sectors) cannot hold a header");
        DiskHeader header = DiskHeader.read(await(source.read(0, headerBytes), "the header"));
        if (header.blank()) return StoreImage.blank(chunk);
        if (header.magic() != DiskHeader.MAGIC)
            throw new StoreFormatException(Errno.ENXIO, String.format("Invalid or corrupt snapshot (magic 0x%08x, not \"SnAp\")",
                    header.magic()));
        boolean overridden = false;
        if (header.chunkSectors() != chunk) {
            String problem = ChunkSizes.problem(Integer.toUnsignedLong(header.chunkSectors()), originBlockBytes, cowBlockBytes);
            if (problem != null)
                throw new StoreFormatException(Errno.EINVAL, "invalid on-disk chunk size " + Integer.toUnsignedString(header.chunkSectors())
                        + ": " + problem);
            overridden = tableChunkSectors != 0;
            chunk = header.chunkSectors();
        }
        if (header.version() != DiskHeader.VERSION)
            throw new StoreFormatException(Errno.EINVAL, "unable to handle snapshot disk version " + Integer.toUnsignedString(header.version()));
        if (!header.isValid()) return StoreImage.invalid(chunk, overridden);
        return readAreas(source, cowSectors, new StoreLayout(chunk), overridden, sink);
    }

    private static StoreImage readAreas(ChunkSource source, long cowSectors, StoreLayout layout, boolean overridden, Sink sink)
            throws StoreFormatException {
        long cowChunks = layout.chunksIn(cowSectors);
        int epa = layout.exceptionsPerArea();
        long nextFree = StoreLayout.FIRST_FREE_CHUNK;
        long exceptions = 0;
        Deque<CompletableFuture<ByteBuffer>> ahead = new ArrayDeque<>();
        long requested = 0; // areas whose read was started
        for (long area = 0; ; area++) {
            while (requested <= area + READ_AHEAD_AREAS && layout.areaChunk(requested) < cowChunks) {
                ahead.addLast(source.read(layout.sectorOf(layout.areaChunk(requested)), layout.chunkBytes()));
                requested++;
            }
            long at = layout.areaChunk(area);
            if (at >= cowChunks)
                throw new StoreFormatException(Errno.EINVAL, "metadata area " + area + " (chunk " + at + ") lies beyond the end of the COW device ("
                        + cowChunks + " chunks of " + layout.chunkSectors() + " sectors): every area before it is full, so the store is truncated");
            ByteBuffer buffer = await(ahead.pollFirst(), "metadata area " + area).order(ByteOrder.LITTLE_ENDIAN);
            if (buffer.remaining() < layout.chunkBytes())
                throw new StoreFormatException(Errno.EIO, "metadata area " + area + ": short read");
            int used = epa;
            for (int i = 0; i < epa; i++) {
                long oldChunk = buffer.getLong(i * StoreLayout.ENTRY_BYTES);
                long newChunk = buffer.getLong(i * StoreLayout.ENTRY_BYTES + 8);
                if (newChunk == 0) {
                    used = i;
                    break;
                }
                if (newChunk < 0 || newChunk >= cowChunks || layout.isMetadataChunk(newChunk))
                    throw new StoreFormatException(Errno.EINVAL, "metadata area " + area + " entry " + i + " maps origin chunk "
                            + Long.toUnsignedString(oldChunk) + " to COW chunk " + Long.toUnsignedString(newChunk) + ", "
                            + (newChunk < 0 || newChunk >= cowChunks ? "beyond the " + cowChunks + " chunks of the COW device"
                                    : "which holds " + (newChunk == 0 ? "the header" : "metadata")));
                if (oldChunk < 0)
                    throw new StoreFormatException(Errno.EINVAL, "metadata area " + area + " entry " + i + " names origin chunk "
                            + Long.toUnsignedString(oldChunk) + ", beyond any device");
                nextFree = Math.max(nextFree, newChunk + 1);
                sink.exception(oldChunk, newChunk);
                exceptions++;
            }
            if (used < epa) {
                ahead.forEach(f -> f.cancel(false));
                return new StoreImage(StoreImage.Kind.VALID, layout.chunkSectors(), overridden, layout.skipMetadata(nextFree), area,
                        used, exceptions, copy(buffer, layout.chunkBytes()));
            }
        }
    }

    private static ByteBuffer copy(ByteBuffer from, int bytes) {
        ByteBuffer area = ByteBuffer.allocateDirect(bytes);
        area.put(from.duplicate().position(0).limit(bytes));
        return area.clear();
    }

    private static ByteBuffer await(CompletableFuture<ByteBuffer> read, String what) throws StoreFormatException {
        try {
            return read.get(READ_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new StoreFormatException(Errno.EIO, "cannot read " + what + ": " + cause.getMessage());
        } catch (TimeoutException e) {
            read.cancel(false);
            throw new StoreFormatException(Errno.EIO, "cannot read " + what + ": no answer within " + READ_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreFormatException(Errno.EIO, "interrupted while reading " + what);
        }
    }
}
