package org.ddmapper.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceEventListener;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.TargetTypeInfo;

/**
 * A small device manager for unit tests of the NBD server, until the core's is on main: devices
 * held in memory (or in a file), completing on a thread pool, with suspend (I/O waits), resume,
 * read-only devices, remove (open handles then fail with ENODEV), REMOVED events, and scripted
 * answers to allocation queries.
 */
public final class MemoryDeviceManager implements DeviceManager, AutoCloseable {
    private final Map<Long, Dev> byId = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final ExecutorService io = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "memdev-io");
        t.setDaemon(true);
        return t;
    });
    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private final AtomicLong flushes = new AtomicLong();

    /** Adds a zeroed in-memory device with a live table. */
    public Dev add(String name, int sizeBytes, boolean readOnly) {
        Dev d = new Dev(ids.incrementAndGet(), name, ByteBuffer.allocateDirect(sizeBytes), null, sizeBytes, readOnly);
        byId.put(d.id, d);
        return d;
    }

    /** Adds a device stored in a file (positional I/O on a pool, as the core's file provider does). */
    public Dev addFile(String name, Path file, boolean readOnly) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Dev d = new Dev(ids.incrementAndGet(), name, null, ch, ch.size(), readOnly);
        byId.put(d.id, d);
        return d;
    }

    /** Flushes that reached any device. */
    public long flushes() {
        return flushes.get();
    }

    public Dev device(String name) {
        for (Dev d : byId.values()) if (d.name.equals(name)) return d;
        throw new DmException(Errno.ENXIO, "no device named '" + name + "'");
    }

    private Dev resolve(DeviceRef ref) {
        if (ref instanceof DeviceRef.Instance i) {
            Dev d = byId.get(i.id());
            if (d == null) throw new DmException(Errno.ENXIO, "no device #" + i.id());
            return d;
        }
        return device(((DeviceRef.Named) ref).name());
    }

    @Override
    public List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        byId.values().stream().sorted((a, b) -> a.name.compareTo(b.name)).forEach(d -> out.add(d.info()));
        return out;
    }

    @Override
    public DeviceInfo info(DeviceRef device) {
        return resolve(device).info();
    }

    @Override
    public OpenDevice open(DeviceRef device) {
        Dev d = resolve(device);
        if (!d.live) throw new DmException(Errno.ENXIO, "device " + d.name + " has no live table");
        d.openers.incrementAndGet();
        return new Handle(d);
    }

    @Override
    public DeviceInfo suspend(DeviceRef device, boolean noflush) {
        Dev d = resolve(device);
        synchronized (d) {
            d.suspended = true;
        }
        return d.info();
    }

    @Override
    public DeviceInfo resume(DeviceRef device) {
        Dev d = resolve(device);
        List<Runnable> held;
        synchronized (d) {
            d.suspended = false;
            held = new ArrayList<>(d.held);
            d.held.clear();
        }
        held.forEach(Runnable::run);
        return d.info();
    }

    @Override
    public void remove(DeviceRef device, boolean force) {
        Dev d = resolve(device);
        if (d.openers.get() > 0 && !force) throw new DmException(Errno.EBUSY, "device " + d.name + " is open");
        List<Runnable> held;
        synchronized (d) {
            d.removed = true;
            held = new ArrayList<>(d.held);
            d.held.clear();
        }
        byId.remove(d.id);
        held.forEach(Runnable::run);
        DeviceEvent ev = new DeviceEvent(d.name, d.id, 1, EventKind.REMOVED, -1, Map.of("force", "" + force), System.currentTimeMillis());
        for (Subscription s : subscriptions) if (s.deviceId == d.id || s.deviceId < 0) s.listener.onEvent(ev);
    }

    @Override
    public AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener) {
        Subscription s = new Subscription(device == null ? -1 : resolve(device).id, listener);
        subscriptions.add(s);
        return () -> subscriptions.remove(s);
    }

    @Override
    public void close() {
        io.shutdownNow();
    }

    private record Subscription(long deviceId, DeviceEventListener listener) {
    }

    /** One device. */
    public final class Dev {
        final long id;
        final String name;
        final ByteBuffer memory;
        final FileChannel file;
        final long sizeBytes;
        final boolean readOnly;
        final AtomicInteger openers = new AtomicInteger();
        final List<Runnable> held = new ArrayList<>();
        final List<Bio> gated = new ArrayList<>();
        volatile boolean live = true;
        /** What allocation queries answer, as it is (null: the default, all data), or the failure they throw. */
        volatile List<Extent> allocationAnswer;
        volatile DmException allocationFailure;
        final List<long[]> allocationQueries = new CopyOnWriteArrayList<>();
        boolean suspended;
        boolean removed;
        long gateOffset = -1;

        Dev(long id, String name, ByteBuffer memory, FileChannel file, long sizeBytes, boolean readOnly) {
            this.id = id;
            this.name = name;
            this.memory = memory;
            this.file = file;
            this.sizeBytes = sizeBytes;
            this.readOnly = readOnly;
        }

        public int openers() {
            return openers.get();
        }

        /** Allocation queries answer exactly these runs from now on (not clipped: that is the server's job). */
        public void answerAllocation(List<Extent> runs) {
            allocationAnswer = runs;
        }

        /** Allocation queries throw this from now on. */
        public void failAllocation(DmException failure) {
            allocationFailure = failure;
        }

        /** The allocation queries seen: {startSector, lengthSectors} each. */
        public List<long[]> allocationQueries() {
            return List.copyOf(allocationQueries);
        }

        /** Holds every request that starts at {@code offsetBytes} (until {@link #openGate}); other requests run. */
        public synchronized void gateAt(long offsetBytes) {
            gateOffset = offsetBytes;
        }

        /** Requests held at the gate now. */
        public synchronized int gatedCount() {
            return gated.size();
        }

        /** Lets the held requests run and holds no more. */
        public void openGate() {
            List<Bio> release;
            synchronized (this) {
                gateOffset = -1;
                release = new ArrayList<>(gated);
                gated.clear();
            }
            release.forEach(this::submit);
        }

        /** A copy of the device's bytes. */
        public byte[] bytes(long offset, int length) {
            byte[] b = new byte[length];
            if (memory != null) {
                memory.duplicate().position((int) offset).get(b);
            } else {
                try {
                    file.read(ByteBuffer.wrap(b), offset);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            return b;
        }

        DeviceInfo info() {
            return new DeviceInfo(id, name, suspended, openers.get(), 0, live, false, sizeBytes / 512, readOnly, 1,
                    held.size(), null);
        }

        void submit(Bio bio) {
            synchronized (this) {
                if (removed) {
                    bio.fail(Errno.ENODEV, "device " + name + " was removed");
                    return;
                }
                if (suspended) {
                    held.add(() -> submit(bio));
                    return;
                }
                if (gateOffset >= 0 && bio.lengthSectors() > 0 && bio.sector() * 512 == gateOffset) {
                    gated.add(bio);
                    return;
                }
            }
            io.execute(() -> run(bio));
        }

        private void run(Bio bio) {
            if (removed) {
                bio.fail(Errno.ENODEV, "device " + name + " was removed");
                return;
            }
            long offset = bio.sector() * 512;
            if (offset + bio.lengthBytes() > sizeBytes) {
                bio.fail(bio.op().isWrite() ? Errno.ENOSPC : Errno.EINVAL, "beyond the end");
                return;
            }
            if (readOnly && bio.op().isWrite()) {
                bio.fail(Errno.EROFS, "read-only");
                return;
            }
            try {
                switch (bio.op()) {
                    case READ -> {
                        ByteBuffer into = bio.data();
                        if (memory != null) {
                            into.put(memory.duplicate().position((int) offset).limit((int) (offset + bio.lengthBytes())));
                        } else {
                            while (into.hasRemaining()) {
                                if (file.read(into, offset + into.position()) < 0) throw new IOException("short read");
                            }
                        }
                    }
                    case WRITE -> {
                        ByteBuffer from = bio.data();
                        if (memory != null) {
                            memory.duplicate().position((int) offset).put(from);
                        } else {
                            long at = offset;
                            while (from.hasRemaining()) at += file.write(from, at);
                        }
                    }
                    case WRITE_ZEROES, DISCARD -> {
                        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(bio.lengthBytes(), 1 << 20));
                        long left = bio.lengthBytes();
                        long at = offset;
                        while (left > 0) {
                            zeros.clear().limit((int) Math.min(left, zeros.capacity()));
                            int n = zeros.remaining();
                            if (memory != null) memory.duplicate().position((int) at).put(zeros);
                            else file.write(zeros, at);
                            at += n;
                            left -= n;
                        }
                    }
                    case FLUSH -> {
                        flushes.incrementAndGet();
                        if (file != null) file.force(false);
                    }
                }
                if (bio.isFua() && file != null) file.force(false);
                bio.complete(IoStatus.OK);
            } catch (IOException e) {
                bio.fail(Errno.EIO, e.getMessage());
            }
        }
    }

    /** An open handle. */
    private final class Handle implements OpenDevice {
        private final Dev d;
        private volatile boolean closed;

        Handle(Dev d) {
            this.d = d;
        }

        @Override
        public long id() {
            return d.id;
        }

        @Override
        public String name() {
            return d.name;
        }

        @Override
        public String reference() {
            return "dm:" + d.name;
        }

        @Override
        public long sizeSectors() {
            return d.sizeBytes / 512;
        }

        @Override
        public boolean readOnly() {
            return d.readOnly;
        }

        @Override
        public boolean supports(BioOp op) {
            return op != BioOp.WRITE_ZEROES || d.memory != null;
        }

        @Override
        public List<Extent> allocation(long startSector, long lengthSectors) {
            d.allocationQueries.add(new long[] {startSector, lengthSectors});
            if (d.allocationFailure != null) throw d.allocationFailure;
            List<Extent> answer = d.allocationAnswer;
            return answer != null ? answer : OpenDevice.super.allocation(startSector, lengthSectors);
        }

        @Override
        public void submit(Bio bio) {
            if (closed) {
                bio.fail(Errno.ENODEV, "handle closed");
                return;
            }
            d.submit(bio);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                d.openers.decrementAndGet();
            }
        }
    }

    // Verbs the NBD server does not use.
    @Override
    public DeviceInfo create(String name, String table) {
        throw new UnsupportedOperationException();
    }

    @Override
    public DeviceInfo load(DeviceRef device, String table) {
        throw new UnsupportedOperationException();
    }

    @Override
    public DeviceInfo clear(DeviceRef device) {
        throw new UnsupportedOperationException();
    }

    @Override
    public DeviceInfo rename(DeviceRef device, String newName) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<TargetStatus> table(DeviceRef device, boolean inactive) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<TargetStatus> status(DeviceRef device) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<String> deps(DeviceRef device) {
        throw new UnsupportedOperationException();
    }

    @Override
    public String message(DeviceRef device, TargetRef target, Message message) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<DeviceEvent> events(DeviceRef device, long afterEventNr) {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<TargetTypeInfo> targets() {
        throw new UnsupportedOperationException();
    }
}
