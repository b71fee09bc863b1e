package org.ddmapper.targets.snapshot.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ddmapper.spi.TargetState;

/**
 * What the targets of this bundle hand to their next version in a live upgrade
 * ({@link org.ddmapper.spi.Target#exportState}), in a format of their own:
 *
 * <ul>
 * <li>a snapshot: its flags that live only in memory (valid, overflowed, merge failed, merge
 *     announced) and, for a transient store, the store itself (chunk size, next free sector, the
 *     exceptions); a persistent store is read from the COW again;
 * <li>an origin: the snapshots it had ({@link OriginGroup.Awaited}), which its successor waits
 *     for before letting writes through.
 * </ul>
 */
final class HandoverState {
    static final int FORMAT = 1;
    static final String SNAPSHOT = "snapshot";
    static final String ORIGIN = "snapshot-origin";

    private HandoverState() {}

    /**
     * A snapshot's state; {@code exceptions} and the store fields only for a transient store,
     * {@code originSnapshots} only for a merging one (which writes the origin too).
     */
    record SnapshotState(boolean valid, boolean overflowed, boolean mergeFailed, boolean mergeAnnounced, int chunkSectors,
                         long nextFreeSector, Map<Long, Long> exceptions, List<OriginGroup.Awaited> originSnapshots) {}

    static TargetState snapshot(SnapshotState s) {
        return write(SNAPSHOT, out -> {
            out.writeBoolean(s.valid());
            out.writeBoolean(s.overflowed());
            out.writeBoolean(s.mergeFailed());
            out.writeBoolean(s.mergeAnnounced());
            out.writeInt(s.chunkSectors());
            out.writeLong(s.nextFreeSector());
            out.writeInt(s.exceptions().size());
            for (var e : s.exceptions().entrySet()) {
                out.writeLong(e.getKey());
                out.writeLong(e.getValue());
            }
            writeAwaited(out, s.originSnapshots());
        });
    }

    /** The snapshot state in {@code state}, or null when it is not one this version reads. */
    static SnapshotState readSnapshot(TargetState state) {
        if (!SNAPSHOT.equals(state.type()) || state.formatVersion() != FORMAT) return null;
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(state.data()))) {
            boolean valid = in.readBoolean();
            boolean overflowed = in.readBoolean();
            boolean mergeFailed = in.readBoolean();
            boolean announced = in.readBoolean();
            int chunk = in.readInt();
            long nextFree = in.readLong();
            int n = in.readInt();
            Map<Long, Long> exceptions = new java.util.HashMap<>();
            for (int i = 0; i < n; i++) exceptions.put(in.readLong(), in.readLong());
            return new SnapshotState(valid, overflowed, mergeFailed, announced, chunk, nextFree, exceptions, readAwaited(in));
        } catch (IOException e) {
            return null;
        }
    }

    static TargetState origin(List<OriginGroup.Awaited> snapshots) {
        return write(ORIGIN, out -> writeAwaited(out, snapshots));
    }

    /** The snapshots an origin had, or null when {@code state} is not one this version reads. */
    static List<OriginGroup.Awaited> readOrigin(TargetState state) {
        if (!ORIGIN.equals(state.type()) || state.formatVersion() != FORMAT) return null;
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(state.data()))) {
            return readAwaited(in);
        } catch (IOException e) {
            return null;
        }
    }

    private static void writeAwaited(DataOutputStream out, List<OriginGroup.Awaited> snapshots) throws IOException {
        out.writeInt(snapshots.size());
        for (OriginGroup.Awaited a : snapshots) {
            out.writeUTF(a.cowKey());
            out.writeUTF(a.cowReference());
            out.writeBoolean(a.persistent());
        }
    }

    private static List<OriginGroup.Awaited> readAwaited(DataInputStream in) throws IOException {
        int n = in.readInt();
        List<OriginGroup.Awaited> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new OriginGroup.Awaited(in.readUTF(), in.readUTF(), in.readBoolean()));
        return out;
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static TargetState write(String type, Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writer.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TargetState(type, FORMAT, bytes.toByteArray());
    }
}
