package org.ddmapper.core.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.PassedFd;
import org.ddmapper.spi.BlockDeviceProvider;

/**
 * Opens the device references tables name, by scheme: absolute paths (file:, direct:) through the
 * core's file provider, dm:NAME as another mapped device (refusing a device stacked on itself,
 * directly or through a chain), and any other scheme through the block-device provider services
 * registered for it (nbd: by bundles/nbd). Every refusal names the reference.
 */
final class DeviceReferences {
    private final Topology topology;
    private final Map<String, List<BlockDeviceProvider>> providers = new ConcurrentHashMap<>();
    private volatile FileProvider files;

    DeviceReferences(Topology topology) {
        this.topology = topology;
    }

    /** The file provider to use from now on (null: the core is not started). */
    void files(FileProvider files) { this.files = files; }

    void addProvider(BlockDeviceProvider provider) {
        for (String scheme : provider.schemes()) providers.computeIfAbsent(scheme, s -> new CopyOnWriteArrayList<>()).add(provider);
    }

    void removeProvider(BlockDeviceProvider provider) {
        for (List<BlockDeviceProvider> list : providers.values()) list.remove(provider);
    }

    /** Opens a reference for a table of {@code forDevice} (null: for no device); throws DmException naming it. */
    BlockDevice open(MappedDevice forDevice, String reference) {
        if (reference == null || reference.isEmpty()) throw new DmException(Errno.EINVAL, "empty device reference");
        String scheme = BlockDeviceProvider.schemeOf(reference);
        switch (scheme) {
            case "dm" -> {
                return openStacked(forDevice, reference);
            }
            case "file", "direct" -> {
                FileProvider f = files;
                if (f == null) throw new DmException(Errno.ENODEV, "'" + reference + "': the core is not started");
                return f.open(reference, false);
            }
            case "" -> throw new DmException(Errno.EINVAL,
                    "'" + abbreviate(reference) + "': not an absolute path, an nbd:// URI or dm:NAME");
            default -> {
                return provider(reference, scheme).open(reference, false);
            }
        }
    }

    /** Opens a reference over a passed socket through the provider of its scheme. */
    BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        String scheme = BlockDeviceProvider.schemeOf(reference);
        if (scheme.equals("dm") || scheme.equals("file") || scheme.equals("direct") || scheme.isEmpty())
            throw new DmException(Errno.EOPNOTSUPP, "'" + abbreviate(reference) + "': this device kind cannot take a passed socket");
        return provider(reference, scheme).adoptSocket(reference, socket, negotiated);
    }

    private BlockDeviceProvider provider(String reference, String scheme) {
        List<BlockDeviceProvider> list = providers.get(scheme);
        if (list == null || list.isEmpty())
            throw new DmException(Errno.ENODEV, "'" + abbreviate(reference) + "': no provider for scheme '" + abbreviate(scheme) + "' is registered");
        return list.get(0);
    }

    /** dm:NAME: opens another mapped device, refusing to stack a device on itself, directly or through a chain. */
    private BlockDevice openStacked(MappedDevice forDevice, String reference) {
        String lowerName = reference.substring(3);
        if (forDevice != null && lowerName.equals(forDevice.name()))
            throw new DmException(Errno.EINVAL, "'" + abbreviate(reference) + "': a device cannot stack on itself");
        MappedDevice lower = topology.named(lowerName);
        if (lower == null || lower.isRemoved())
            throw new DmException(Errno.ENODEV, "'" + abbreviate(reference) + "': no such mapped device");
        if (forDevice != null) topology.checkStacking(forDevice, lower, reference);
        return lower.open(reference);
    }

    /** A reference or name cut to 64 characters for an error message. */
    static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }
}
