package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.ExtentList;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.BioJoin;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetState;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * A built table: its spec, one target per line, and the devices each target opened. Immutable
 * once built; a device swaps whole tables. Routing ({@link #map}) is the hot path: a binary
 * search over the start sectors, one child request per target covered, no locks.
 */
final class Table {
    /** Largest READ or WRITE accepted in one request (NBD's usual maximum). */
    static final long MAX_DATA_BYTES = 32L << 20;

    final TableSpec spec;
    final Target[] targets;
    final TargetType[] types;
    private final long[] starts;
    private final long[] ends;
    /** Per target: whether a FLUSH is sent to it (false for NO_FLUSH types). */
    private final boolean[] takesFlush;
    final long sizeSectors;
    private final List<List<BlockDevice>> devices;
    private final CoreTargetContext[] contexts;

    private Table(TableSpec spec, Target[] targets, TargetType[] types, List<List<BlockDevice>> devices, CoreTargetContext[] contexts) {
        this.spec = spec;
        this.targets = targets;
        this.types = types;
        this.devices = devices;
        this.contexts = contexts;
        int n = targets.length;
        this.starts = new long[n];
        this.ends = new long[n];
        this.takesFlush = new boolean[n];
        for (int i = 0; i < n; i++) {
            takesFlush[i] = !types[i].features().contains(TargetFeature.NO_FLUSH);
            TableLine l = spec.lines().get(i).line();
            starts[i] = l.startSector();
            ends[i] = l.endSector();
        }
        this.sizeSectors = spec.sizeSectors();
    }

    /**
     * Builds every target of {@code spec} for {@code device}. On any failure closes everything
     * opened so far, destroys the targets built so far and throws a DmException naming the line.
     * {@code states}, when given, holds state exported by a previous version per target index;
     * {@code handover} tells the targets that they rebuild a table that was live or loaded before.
     */
    static Table build(DeviceHost host, MappedDevice device, TableSpec spec, List<Optional<TargetState>> states, boolean handover) {
        int n = spec.size();
        TargetType[] types = new TargetType[n];
        for (int i = 0; i < n; i++) {
            SourceLine s = spec.lines().get(i);
            TargetType type = host.targetType(s.line().type());
            if (type == null)
                throw new DmException(Errno.EINVAL, s.where() + ": unknown target type '" + TableLine.escape(s.line().type()) + "'");
            if (n > 1 && type.features().contains(TargetFeature.SINGLETON))
                throw new DmException(Errno.EINVAL, s.where() + ": target type '" + type.name() + "' must be the only target in its table");
            types[i] = type;
        }
        Target[] targets = new Target[n];
        CoreTargetContext[] contexts = new CoreTargetContext[n];
        List<List<BlockDevice>> opened = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                SourceLine s = spec.lines().get(i);
                TableLine l = s.line();
                TableArgs args = new TableArgs(l.type(), l.args(), ref -> host.openReference(device, ref));
                CoreTargetContext ctx = new CoreTargetContext(host, device, i, l.startSector(), l.lengthSectors(), handover);
                contexts[i] = ctx;
                Target target;
                try {
                    target = types[i].create(ctx, args);
                    if (target == null) throw new DmException(Errno.EINVAL, l.type() + ": constructor returned no target");
                    args.expectEnd();
                } catch (RuntimeException e) {
                    closeAll(args.openedDevices());
                    throw lineError(s, e);
                }
                targets[i] = target;
                opened.add(args.openedDevices());
                if (states != null && i < states.size() && states.get(i).isPresent()
                        && types[i].features().contains(TargetFeature.STATE_HANDOVER)) {
                    try {
                        target.importState(states.get(i).get());
                    } catch (RuntimeException e) {
                        Logger.warn("device {}: target {} ({}) refused its predecessor's state: {}", device.name(), i, l.type(), e.toString());
                    }
                }
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < n; i++) {
                if (targets[i] != null) destroyTarget(device, i, targets[i], types[i].name());
            }
            for (List<BlockDevice> list : opened) closeAll(list);
            throw e;
        }
        return new Table(spec, targets, types, opened, contexts);
    }

    private static DmException lineError(SourceLine s, RuntimeException e) {
        if (e instanceof DmException dm) return new DmException(dm.errno(), s.where() + ": " + dm.getMessage());
        Logger.warn(e, "target type '{}' failed to build {}", s.line().type(), s.where());
        return new DmException(Errno.EINVAL, s.where() + ": " + s.line().type() + ": constructor failed: " + e);
    }

    int indexOf(long sector) {
        int lo = 0, hi = ends.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] <= sector) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    long startOf(int index) { return starts[index]; }

    /** Routes one request of {@code device}; its completion calls back into the device. */
    void map(MappedDevice device, Bio bio) {
        BioOp op = bio.op();
        if (op == BioOp.FLUSH) {
            flushAll(device, bio);
            return;
        }
        long sector = bio.sector();
        long length = bio.lengthSectors();
        long end = sector + length;
        if (end > sizeSectors || end < sector) {
            device.completeEarly(bio, IoStatus.error(op.isWrite() ? Errno.ENOSPC : Errno.EINVAL,
                    "request " + sector + "+" + length + " lies beyond the device's " + sizeSectors + " sectors"));
            return;
        }
        if (op.hasData() && bio.lengthBytes() > MAX_DATA_BYTES) {
            device.completeEarly(bio, IoStatus.error(Errno.EINVAL, "request of " + bio.lengthBytes() + " bytes exceeds the limit of " + MAX_DATA_BYTES));
            return;
        }
        if (length == 0) {
            device.completeEarly(bio, IoStatus.OK);
            return;
        }
        int i = indexOf(sector);
        if (end <= ends[i]) {
            submitTo(i, Bio.of(op, sector - starts[i], length, bio.data(), bio.flags(), new Request(device, bio)));
            return;
        }
        int last = indexOf(end - 1);
        BioJoin split = new BioJoin(bio.withCompletion(new Request(device, bio)), last - i + 1);
        for (int t = i; t <= last; t++) {
            long from = Math.max(sector, starts[t]);
            long to = Math.min(end, ends[t]);
            submitTo(t, bio.slice(from - sector, to - from, from - starts[t], split));
        }
    }

    /**
     * The allocation of {@code [sector, +length)}: each target covered answers for its part (in
     * its own sectors), runs of one kind merged across targets. Stops where a target's answer
     * stopped short or the runs are full; the caller asks again from there.
     */
    List<Extent> allocation(long sector, long length) {
        checkAllocationRange(sector, length, sizeSectors);
        long end = sector + length;
        ExtentList out = new ExtentList(sector, length);
        for (long from = sector; ; from = out.endSector()) {
            int i = indexOf(from);
            long to = Math.min(end, ends[i]);
            List<Extent> part;
            try {
                part = targets[i].allocation(from - starts[i], to - from);
            } catch (DmException e) {
                throw new DmException(e.errno(), "target " + i + " (" + types[i].name() + "): " + e.getMessage(), e);
            } catch (RuntimeException e) {
                Logger.warn(e, "target {} ({}) threw from allocation", i, types[i].name());
                throw new DmException(Errno.EIO, "target " + i + " (" + types[i].name() + ") failed: " + e, e);
            }
            if (!out.addAll(part)) return out.toList();
        }
    }

    /** Refuses an allocation query that is empty or reaches past {@code sizeSectors} (EINVAL). */
    static void checkAllocationRange(long sector, long length, long sizeSectors) {
        if (sector < 0 || length <= 0 || sector + length > sizeSectors || sector + length < sector)
            throw new DmException(Errno.EINVAL, "allocation of " + sector + "+" + length + " lies beyond the device's " + sizeSectors + " sectors");
    }

    /**
     * A flush goes to every target that holds data; it completes once all of them made their data
     * durable. Targets declaring {@link TargetFeature#NO_FLUSH} (error, zero) are skipped, as the
     * kernel skips targets with no flush bios; a table of only such targets completes at once.
     */
    private void flushAll(MappedDevice device, Bio bio) {
        int count = 0, only = -1;
        for (int t = 0; t < targets.length; t++) if (takesFlush[t]) { count++; only = t; }
        if (count == 0) {
            device.completeEarly(bio, IoStatus.OK);
            return;
        }
        if (count == 1) {
            submitTo(only, Bio.of(BioOp.FLUSH, 0, 0, null, bio.flags(), new Request(device, bio)));
            return;
        }
        BioJoin split = new BioJoin(bio.withCompletion(new Request(device, bio)), count);
        for (int t = 0; t < targets.length; t++)
            if (takesFlush[t]) submitTo(t, Bio.of(BioOp.FLUSH, 0, 0, null, bio.flags(), split));
    }

    private void submitTo(int index, Bio child) {
        try {
            targets[index].map(child);
        } catch (RuntimeException e) {
            Logger.warn(e, "target {} ({}) threw from map", index, types[index].name());
            child.complete(IoStatus.error(Errno.EIO, "target " + index + " (" + types[index].name() + ") failed: " + e));
        }
    }

    /** Target {@code index}'s status text; a target that throws answers "status failed: ..." (and is logged). */
    String status(MappedDevice device, int index, StatusType type) {
        try {
            return targets[index].status(type);
        } catch (RuntimeException e) {
            Logger.warn(e, "device {}: target {} ({}) status failed", device.name(), index, types[index].name());
            return "status failed: " + e;
        }
    }

    // ---- lifecycle, each hook guarded so that one faulty target cannot stop the others ----

    void presuspend(MappedDevice device, boolean noflush) {
        for (int i = 0; i < targets.length; i++) {
            try {
                targets[i].presuspend(noflush);
            } catch (RuntimeException e) {
                Logger.warn(e, "device {}: target {} ({}) presuspend failed", device.name(), i, types[i].name());
            }
        }
    }

    void postsuspend(MappedDevice device) {
        for (int i = 0; i < targets.length; i++) {
            try {
                targets[i].postsuspend();
            } catch (RuntimeException e) {
                Logger.warn(e, "device {}: target {} ({}) postsuspend failed", device.name(), i, types[i].name());
            }
        }
    }

    /** Runs every preresume hook; the first that throws vetoes, named in the exception. */
    void preresume() {
        for (int i = 0; i < targets.length; i++) {
            try {
                targets[i].preresume();
            } catch (RuntimeException e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                Errno errno = e instanceof DmException dm ? dm.errno() : Errno.EIO;
                throw new DmException(errno, "target " + i + " (" + types[i].name() + ") refused to resume: " + why, e);
            }
        }
    }

    void resumeTargets(MappedDevice device) {
        for (int i = 0; i < targets.length; i++) {
            try {
                targets[i].resume();
            } catch (RuntimeException e) {
                Logger.warn(e, "device {}: target {} ({}) resume hook failed", device.name(), i, types[i].name());
            }
        }
    }

    /** State each target of a {@link TargetFeature#STATE_HANDOVER} type offers its successor (live upgrade), per index. */
    List<Optional<TargetState>> exportStates(MappedDevice device) {
        List<Optional<TargetState>> out = new ArrayList<>();
        for (int i = 0; i < targets.length; i++) {
            Optional<TargetState> s = Optional.empty();
            if (!types[i].features().contains(TargetFeature.STATE_HANDOVER)) {
                out.add(s);
                continue;
            }
            try {
                s = targets[i].exportState();
                if (s == null) s = Optional.empty();
            } catch (RuntimeException e) {
                Logger.warn(e, "device {}: target {} ({}) failed to export its state", device.name(), i, types[i].name());
            }
            out.add(s);
        }
        return out;
    }

    /** Destroys every target, then closes the devices they opened through their arguments. */
    void destroy(MappedDevice device) {
        for (int i = 0; i < targets.length; i++) destroyTarget(device, i, targets[i], types[i].name());
        for (List<BlockDevice> list : devices) closeAll(list);
    }

    private static void destroyTarget(MappedDevice device, int index, Target target, String type) {
        try {
            target.destroy();
        } catch (RuntimeException e) {
            Logger.warn(e, "device {}: target {} ({}) destroy failed", device.name(), index, type);
        }
    }

    static void closeAll(List<BlockDevice> list) {
        for (BlockDevice d : list) {
            try {
                d.close();
            } catch (RuntimeException e) {
                Logger.warn(e, "closing {} failed", d.reference());
            }
        }
    }

    /**
     * Every device target {@code index} uses now: those opened through its arguments (less mapped
     * devices it has let go of since, as a path replaced by a reconnect), then those
     * it opened through its context and still holds, then what {@link Target#devices()} adds — the
     * later two only when no device of the same reference is listed already.
     */
    private List<BlockDevice> devicesOf(int index) {
        List<BlockDevice> out = new ArrayList<>();
        for (BlockDevice d : devices.get(index)) {
            d = WrappedDevice.unwrap(d);
            if (!(d instanceof OpenHandle h && h.isClosed())) out.add(d);
        }
        List<BlockDevice> extra = new ArrayList<>(contexts[index] == null ? List.of() : contexts[index].openedNow());
        try {
            List<BlockDevice> declared = targets[index].devices();
            if (declared != null) extra.addAll(declared);
        } catch (RuntimeException e) {
            Logger.warn(e, "target {} ({}) failed to list its devices", index, types[index].name());
        }
        for (BlockDevice d : extra) {
            d = WrappedDevice.unwrap(d);
            boolean known = false;
            for (BlockDevice have : out) if (have == d || have.reference().equals(d.reference())) known = true;
            if (!known) out.add(d);
        }
        return out;
    }

    /**
     * The references the targets use, as written, each once, in the kernel's order: the most
     * recently first-used first (dm-table adds each new device at the head of its list).
     */
    List<String> deps() {
        java.util.LinkedHashSet<String> firstUse = new java.util.LinkedHashSet<>();
        for (int i = 0; i < targets.length; i++) for (BlockDevice d : devicesOf(i)) firstUse.add(d.reference());
        List<String> out = new ArrayList<>(firstUse);
        java.util.Collections.reverse(out);
        return out;
    }

    /** Whether writes are refused: every target writes only to devices it opened, and each of those is read-only. */
    boolean readOnly() {
        if (devices.isEmpty()) return false;
        for (List<BlockDevice> list : devices) {
            if (list.isEmpty()) return false;
            for (BlockDevice d : list) if (!d.readOnly()) return false;
        }
        return true;
    }

    /** The largest logical block of the devices underneath (a sector at least). */
    int logicalBlockBytes() {
        int bytes = Bio.SECTOR_BYTES;
        for (List<BlockDevice> list : devices) for (BlockDevice d : list) bytes = Math.max(bytes, d.logicalBlockBytes());
        return bytes;
    }

    /** Whether every device underneath carries out {@code op} natively (targets without devices do it themselves). */
    boolean supports(BioOp op) {
        for (List<BlockDevice> list : devices) for (BlockDevice d : list) if (!d.supports(op)) return false;
        return true;
    }

    /** The mapped devices this table stacks on (dm: references still open, including those a target opened later). */
    List<MappedDevice> lowerDevices() {
        List<MappedDevice> out = new ArrayList<>();
        for (int i = 0; i < targets.length; i++)
            for (BlockDevice d : devicesOf(i)) if (d instanceof OpenHandle h && !h.isClosed()) out.add(h.device());
        return out;
    }

    /** Whether a target of this table was built by that very type service. */
    boolean uses(TargetType type) {
        for (TargetType t : types) if (t == type) return true;
        return false;
    }
}
