package org.ddmapper.targets.snapshot.internal.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;

/** Builds COW images in the kernel's layout by hand, for tests of what reads and writes them. */
public final class StoreBytes {
    private final byte[] bytes;
    private final StoreLayout layout;

    public StoreBytes(long cowSectors, int chunkSectors) {
        this.bytes = new byte[Math.toIntExact(cowSectors * 512)];
        this.layout = new StoreLayout(chunkSectors);
    }

    public byte[] bytes() { return bytes; }

    public StoreLayout layout() { return layout; }

    public StoreBytes header(int magic, int valid, int version, int chunkSectors) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, magic).putInt(4, valid).putInt(8, version).putInt(12, chunkSectors);
        return this;
    }

    public StoreBytes validHeader() {
        return header(DiskHeader.MAGIC, 1, 1, layout.chunkSectors());
    }

    /** Sets entry {@code index} of metadata area {@code area}. */
    public StoreBytes entry(long area, int index, long oldChunk, long newChunk) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int at = Math.toIntExact(layout.sectorOf(layout.areaChunk(area)) * 512 + (long) index * StoreLayout.ENTRY_BYTES);
        b.putLong(at, oldChunk).putLong(at + 8, newChunk);
        return this;
    }

    /** Fills a data chunk with one byte value. */
    public StoreBytes data(long chunk, byte value) {
        int at = Math.toIntExact(layout.sectorOf(chunk) * 512);
        java.util.Arrays.fill(bytes, at, at + layout.chunkBytes(), value);
        return this;
    }

    /** A reader's source over these bytes (a read past the end fails as a device would). */
    public StoreReader.ChunkSource source() {
        return (sector, n) -> {
            long at = sector * 512;
            if (at + n > bytes.length) return CompletableFuture.failedFuture(new java.io.IOException("read beyond the end"));
            ByteBuffer out = ByteBuffer.allocate(n);
            out.put(bytes, (int) at, n).clear();
            return CompletableFuture.completedFuture(out);
        };
    }
}
