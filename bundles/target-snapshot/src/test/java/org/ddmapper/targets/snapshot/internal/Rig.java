package org.ddmapper.targets.snapshot.internal;

import org.ddmapper.api.EventPayload;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;

/**
 * Snapshot targets over in-memory devices for unit tests: one registry (as one bundle instance
 * has), devices by reference, targets built, preresumed and resumed as the core would, and
 * blocking I/O helpers.
 */
final class Rig implements AutoCloseable {
    final SnapshotRegistry registry;
    final Map<String, BlockDevice> devices = new LinkedHashMap<>();
    final List<FakeTargetContext> contexts = new ArrayList<>();
    final Map<Target, FakeTargetContext> contextOf = new LinkedHashMap<>();

    Rig() { this(new SnapshotRegistry(2000)); }

    Rig(SnapshotRegistry registry) { this.registry = registry; }

    MemoryDevice device(String reference, long sectors) {
        MemoryDevice d = new MemoryDevice(reference, sectors);
        devices.put(reference, d);
        return d;
    }

    /** Makes a device known by its reference (a test's own kind of device). */
    <D extends BlockDevice> D add(D device) {
        devices.put(device.reference(), device);
        return device;
    }

    /** A device filled with seeded random bytes. */
    MemoryDevice randomDevice(String reference, long sectors, long seed) {
        MemoryDevice d = device(reference, sectors);
        byte[] b = new byte[Math.toIntExact(sectors * 512)];
        new Random(seed).nextBytes(b);
        d.store(0, b);
        return d;
    }

    FakeTargetContext context(long length) {
        FakeTargetContext c = new FakeTargetContext(length, devices.values().toArray(BlockDevice[]::new));
        contexts.add(c);
        return c;
    }

    /** Built only (a load). */
    OriginTarget loadOrigin(String reference, long length) {
        FakeTargetContext c = context(length);
        OriginTarget t = new OriginTarget(c, c.args("snapshot-origin", reference), registry);
        contextOf.put(t, c);
        return t;
    }

    SnapshotTarget loadSnapshot(String words, long length) {
        FakeTargetContext c = context(length);
        SnapshotTarget t = new SnapshotTarget(c, c.args("snapshot", words), registry);
        contextOf.put(t, c);
        return t;
    }

    MergeTarget loadMerge(String words, long length) {
        FakeTargetContext c = context(length);
        MergeTarget t = new MergeTarget(c, c.args("snapshot-merge", words), registry);
        contextOf.put(t, c);
        return t;
    }

    static <T extends Target> T live(T t) {
        t.preresume();
        t.resume();
        return t;
    }

    OriginTarget origin(String reference, long length) { return live(loadOrigin(reference, length)); }

    SnapshotTarget snapshot(String words, long length) { return live(loadSnapshot(words, length)); }

    MergeTarget merge(String words, long length) { return live(loadMerge(words, length)); }

    /** Suspends and destroys a target as the core would when its table goes away. */
    static void remove(Target t) {
        t.presuspend(false);
        t.postsuspend();
        t.destroy();
    }

    List<EventPayload> events(Target t) { return contextOf.get(t).events(); }

    static IoStatus write(Target t, long sector, byte[] data) {
        Completion c = new Completion();
        t.map(Bio.write(sector, ByteBuffer.wrap(data.clone()), 0, c));
        return c.get();
    }

    static Completion writeAsync(Target t, long sector, byte[] data) {
        Completion c = new Completion();
        t.map(Bio.write(sector, ByteBuffer.wrap(data.clone()), 0, c));
        return c;
    }

    static byte[] read(Target t, long sector, int sectors) {
        byte[] out = new byte[sectors * 512];
        IoStatus s = readStatus(t, sector, out);
        if (!s.isOk()) throw new AssertionError("read " + sector + "+" + sectors + ": " + s);
        return out;
    }

    static IoStatus readStatus(Target t, long sector, byte[] into) {
        Completion c = new Completion();
        t.map(Bio.read(sector, ByteBuffer.wrap(into), c));
        return c.get();
    }

    static IoStatus flush(Target t) {
        Completion c = new Completion();
        t.map(Bio.flush(c));
        return c.get();
    }

    static byte[] filled(int sectors, int value) {
        byte[] b = new byte[sectors * 512];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    @Override
    public void close() {
        contexts.forEach(FakeTargetContext::close);
    }
}
