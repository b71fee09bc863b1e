package org.ddmapper.targets.snapshot.internal;

import org.ddmapper.api.DmException;
import org.ddmapper.targets.snapshot.internal.store.DeviceIo;
import org.ddmapper.targets.snapshot.internal.store.ExceptionStore;
import org.ddmapper.targets.snapshot.internal.store.PersistentStore;
import org.ddmapper.targets.snapshot.internal.store.StoreFormatException;
import org.ddmapper.targets.snapshot.internal.store.StoreImage;
import org.ddmapper.targets.snapshot.internal.store.StoreReader;
import org.ddmapper.targets.snapshot.internal.store.TransientStore;
import org.tinylog.Logger;

/**
 * Brings a snapshot's store up when its table is resumed (never when it is loaded: an older table
 * may still be writing the COW then): a transient store starts empty; a persistent one is read
 * from the COW device, or set up on it when chunk 0 is blank. A store that cannot be used vetoes
 * the resume with the reason.
 */
final class StoreLoading {
    private StoreLoading() {}

    /** A store and the exceptions found in it. */
    record Loaded(ExceptionStore store, ChunkMap exceptions, boolean valid) {}

    static Loaded load(SnapshotArgs a, String deviceName) {
        if (!a.mode().persistent()) return new Loaded(new TransientStore(a.tableChunkSectors(), a.cow().sizeSectors(), 0), new ChunkMap(), true);
        ChunkMap exceptions = new ChunkMap();
        try {
            StoreImage image = StoreReader.read(DeviceIo.source(a.cow()), a.cow().sizeSectors(), a.tableChunkSectors(),
                    a.origin().logicalBlockBytes(), a.cow().logicalBlockBytes(), (o, n) -> exceptions.putIfAbsent(o, n));
            if (image.tableOverridden())
                Logger.warn("snapshot {}: chunk size {} in device metadata overrides table chunk size of {}.", deviceName,
                        image.chunkSectors(), a.tableChunkSectors());
            if (image.kind() == StoreImage.Kind.INVALID) Logger.warn("snapshot {}: Snapshot is marked invalid.", deviceName);
            PersistentStore store = PersistentStore.open(a.cow(), image, a.mode() == SnapshotArgs.StoreMode.PO);
            return new Loaded(store, exceptions, image.kind() != StoreImage.Kind.INVALID);
        } catch (StoreFormatException e) {
            throw new DmException(e.errno(), "Failed to read snapshot metadata from '" + a.cow().reference() + "': " + e.getMessage());
        }
    }
}
