package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.BlockDeviceProvider;

/**
 * What storage an opened device is ({@link org.ddmapper.spi.TargetContext#identityOf}): equal for
 * two devices exactly when writes through one are seen through the other, however their references
 * were written. A mapped device is its instance ({@code dm#ID}; a rename keeps it), a block device
 * its device number ({@code block:RDEV}, so two nodes or a by-id link of one disk are one), a
 * regular file its file system and inode ({@code file:DEV:INO}; {@code direct:} and symbolic links
 * lead to the same), anything else the reference as written (an NBD export has no identity a
 * client can see). A file that cannot be looked at any more falls back to its reference.
 */
final class DeviceIdentity {
    private static final int FILE_TYPE_MASK = 0170000;
    private static final int BLOCK_DEVICE_TYPE = 0060000;

    private DeviceIdentity() {}

    static String of(BlockDevice device) {
        BlockDevice d = WrappedDevice.unwrap(device);
        if (d instanceof OpenHandle handle) return "dm#" + handle.id();
        String reference = d.reference();
        String scheme = BlockDeviceProvider.schemeOf(reference);
        if (!scheme.equals("file") && !scheme.equals("direct")) return reference;
        String path = scheme.equals("direct") ? reference.substring(FileProvider.DIRECT.length()) : reference;
        try {
            Map<String, Object> a = Files.readAttributes(Path.of(path), "unix:dev,ino,rdev,mode");
            int mode = ((Number) a.get("mode")).intValue();
            if ((mode & FILE_TYPE_MASK) == BLOCK_DEVICE_TYPE) return "block:" + a.get("rdev");
            return "file:" + a.get("dev") + ":" + a.get("ino");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) { // an invalid path is an IllegalArgumentException
            return reference;
        }
    }
}
