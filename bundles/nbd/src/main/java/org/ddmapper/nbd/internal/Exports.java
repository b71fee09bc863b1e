package org.ddmapper.nbd.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;

/**
 * What the server exports: every mapped device with a live table, named after it. The empty
 * name (the protocol's "default export") means the only export when there is exactly one.
 */
public final class Exports {
    private final DeviceManager devices;
    private final UnalignedRequests.Registry unaligned = new UnalignedRequests.Registry();

    public Exports(DeviceManager devices) {
        this.devices = devices;
    }

    /** The exports now, in the device manager's order. */
    public List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        for (DeviceInfo d : devices.list()) {
            if (d.liveTable()) out.add(d);
        }
        return out;
    }

    /** The export a client named, or null when there is none by that name. */
    public DeviceInfo find(String name) {
        List<DeviceInfo> all = list();
        if (name.isEmpty()) return all.size() == 1 ? all.get(0) : null;
        for (DeviceInfo d : all) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }

    /** Why {@link #find} found nothing, as a sentence for the client. */
    public String notFound(String name) {
        if (!name.isEmpty()) return "no export named " + WireStrings.quote(name) + " (a mapped device with a live table)";
        int n = list().size();
        return n == 0 ? "no default export: no mapped device has a live table"
                : "no default export: " + n + " devices are exported, name one of them";
    }

    /** Opens the export's device instance for I/O (it counts as an opener until closed). */
    public DeviceManager.OpenDevice open(DeviceInfo export) {
        return devices.open(DeviceRef.id(export.id()));
    }

    /** What a connection that opened the device shares with the export's other connections (see {@link Session#close()}). */
    public UnalignedRequests shared(DeviceManager.OpenDevice device) {
        return unaligned.open(device.id());
    }

    /** The human-readable description sent with NBD_OPT_LIST and NBD_INFO_DESCRIPTION. */
    public static String describe(DeviceInfo d) {
        return "ddmapper device " + d.name() + ": " + d.targetCount() + (d.targetCount() == 1 ? " target" : " targets")
                + (d.readOnly() ? ", read-only" : "") + (d.suspended() ? ", suspended" : "");
    }

    /**
     * The transmission flags of an export, told truthfully: flush and FUA go through the core
     * to every device underneath; trim and zeroes always work (dropped or written out where a
     * device cannot do them natively); multi-conn holds because the server keeps no cache and
     * every connection reaches the same device instance. Fast zero is not offered: a mapped
     * device cannot tell whether zeroing is faster than writing on every device underneath.
     */
    public static int transmissionFlags(boolean readOnly, boolean structuredReplies) {
        int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_CAN_MULTI_CONN | Nbd.FLAG_SEND_CACHE;
        if (readOnly) {
            flags |= Nbd.FLAG_READ_ONLY;
        } else {
            flags |= Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES;
        }
        if (structuredReplies) flags |= Nbd.FLAG_SEND_DF;
        return flags;
    }

    /** The minimum block size of a device: its logical block, at least one sector, at most 64 KiB. */
    public static int minimumBlockBytes(org.ddmapper.api.BlockDevice device) {
        int logical = device.logicalBlockBytes();
        if (logical <= Bio.SECTOR_BYTES || Integer.bitCount(logical) != 1) return Bio.SECTOR_BYTES;
        return Math.min(logical, 64 * 1024);
    }
}
