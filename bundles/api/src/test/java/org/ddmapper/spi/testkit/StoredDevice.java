package org.ddmapper.spi.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager.OpenDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.TableLine;

/**
 * One device of a {@link MemoryDeviceManager}: its tables, events and openers, and its data — in
 * memory, in a file, or none (a table of zero/error/echo lines: reads zeros, fails in error lines).
 * Requests complete on the manager's pool; while suspended they are held and replayed at resume;
 * after a remove they fail with ENODEV. A test can hold requests at one offset ({@link #gateAt})
 * and script what allocation queries answer.
 */
public final class StoredDevice {
    final long id;
    volatile String name;
    volatile List<TableLine> live;
    volatile List<TableLine> inactive;
    final AtomicInteger openers = new AtomicInteger();
    private final ByteBuffer memory;
    private final FileChannel file;
    private final long sizeBytes;
    private final boolean readOnly;
    private final ExecutorService io;
    private final AtomicLong flushes;
    private final List<DeviceEvent> history = new ArrayList<>();
    private long eventNr;
    // guarded by this
    private final List<Bio> held = new ArrayList<>();
    private final List<Bio> gated = new ArrayList<>();
    private boolean suspended;
    private volatile boolean removed;
    private long gateOffset = -1;
    /** What allocation queries answer, as it is (null: the default, all data), or the failure they throw. */
    private volatile List<Extent> allocationAnswer;
    private volatile DmException allocationFailure;
    private final List<long[]> allocationQueries = new CopyOnWriteArrayList<>();

    StoredDevice(long id, String name, ByteBuffer memory, FileChannel file, long sizeBytes, boolean readOnly, ExecutorService io,
                 AtomicLong flushes) {
        this.id = id;
        this.name = name;
        this.memory = memory;
        this.file = file;
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        this.io = io;
        this.flushes = flushes;
    }

    public String name() { return name; }

    public int openers() { return openers.get(); }

    /** Allocation queries answer exactly these runs from now on (not clipped: that is the caller's job). */
    public void answerAllocation(List<Extent> runs) { allocationAnswer = runs; }

    /** Allocation queries throw this from now on. */
    public void failAllocation(DmException failure) { allocationFailure = failure; }

    /** The allocation queries seen: {startSector, lengthSectors} each. */
    public List<long[]> allocationQueries() { return List.copyOf(allocationQueries); }

    /** Holds every request that starts at {@code offsetBytes} (until {@link #openGate}); other requests run. */
    public synchronized void gateAt(long offsetBytes) { gateOffset = offsetBytes; }

    /** Requests held at the gate now. */
    public synchronized int gatedCount() { return gated.size(); }

    /** Lets the requests held at the gate run and holds no more. */
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
        try {
            if (memory != null || file != null) read(ByteBuffer.wrap(b), offset);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return b;
    }

    /** Writes {@code data} at {@code offset} without going through a request. */
    public void store(long offset, byte[] data) {
        if (memory == null && file == null) throw new IllegalStateException("device '" + name + "' holds no data");
        try {
            write(ByteBuffer.wrap(data), offset);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public synchronized DeviceInfo info() {
        return new DeviceInfo(id, name, suspended, openers.get(), eventNr, live != null, inactive != null, sizeSectors(), readOnly,
                live == null ? 0 : live.size(), held.size(), null);
    }

    long sizeSectors() {
        List<TableLine> l = live;
        return l == null ? 0 : l.get(l.size() - 1).endSector();
    }

    // ---------------------------------------------------------------- events and states (the manager's lock held)

    synchronized DeviceEvent record(EventPayload payload, int targetIndex) {
        DeviceEvent e = new DeviceEvent(name, id, ++eventNr, payload.kind(), targetIndex, payload.details(), System.currentTimeMillis());
        history.add(e);
        if (history.size() > 100) history.remove(0);
        return e;
    }

    synchronized long eventNr() { return eventNr; }

    synchronized List<DeviceEvent> history() { return List.copyOf(history); }

    synchronized boolean isSuspended() { return suspended; }

    synchronized int heldCount() { return held.size(); }

    /** Suspends; false when it already was. */
    synchronized boolean suspend() {
        if (suspended) return false;
        suspended = true;
        return true;
    }

    /** Ends a suspend (held requests stay until {@link #replayHeld}); false when it was not suspended. */
    synchronized boolean resumeHolding() {
        boolean was = suspended;
        suspended = false;
        return was;
    }

    synchronized void markRemoved() { removed = true; }

    /** Sends the held requests on again (or fails them, after a remove). */
    void replayHeld() {
        List<Bio> again;
        synchronized (this) {
            again = new ArrayList<>(held);
            held.clear();
        }
        again.forEach(this::submit);
    }

    OpenDevice open() {
        if (live == null) throw new DmException(Errno.ENXIO, "device " + name + " has no live table");
        openers.incrementAndGet();
        return new Handle();
    }

    // ---------------------------------------------------------------- I/O

    void submit(Bio bio) {
        synchronized (this) {
            if (removed) {
                bio.fail(Errno.ENODEV, "device " + name + " was removed");
                return;
            }
            if (suspended) {
                held.add(bio);
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
        if (memory == null && file == null) {
            runTable(bio);
            return;
        }
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
                case READ -> read(bio.data(), offset);
                case WRITE -> write(bio.data(), offset);
                case WRITE_ZEROES, DISCARD -> zero(offset, bio.lengthBytes());
                case FLUSH -> {
                    flushes.incrementAndGet();
                    force();
                }
            }
            if (bio.isFua()) force();
        } catch (IOException e) {
            bio.fail(Errno.EIO, e.getMessage());
            return;
        }
        bio.complete(IoStatus.OK);
    }

    /** A table device: error lines fail, the rest reads zeros and takes writes. */
    private void runTable(Bio bio) {
        for (TableLine l : live)
            if (l.type().equals("error") && bio.sector() < l.endSector() && bio.endSector() > l.startSector()) {
                bio.fail(Errno.EIO, "error target");
                return;
            }
        if (bio.op() == BioOp.READ) bio.data().put(ByteBuffer.allocate((int) bio.lengthBytes()));
        bio.complete(IoStatus.OK);
    }

    private void read(ByteBuffer into, long offset) throws IOException {
        if (memory != null) {
            into.put(memory.duplicate().position((int) offset).limit((int) (offset + into.remaining())));
            return;
        }
        for (long at = offset; into.hasRemaining(); ) {
            int n = file.read(into, at);
            if (n < 0) throw new IOException("short read");
            at += n;
        }
    }

    private void write(ByteBuffer from, long offset) throws IOException {
        if (memory != null) {
            memory.duplicate().position((int) offset).put(from);
            return;
        }
        for (long at = offset; from.hasRemaining(); ) at += file.write(from, at);
    }

    private void zero(long offset, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long at = offset, left = length; left > 0; ) {
            zeros.clear().limit((int) Math.min(left, zeros.capacity()));
            int n = zeros.remaining();
            write(zeros, at);
            at += n;
            left -= n;
        }
    }

    private void force() throws IOException {
        if (file != null) file.force(false);
    }

    /** An open handle: counted among the openers until closed; fails I/O with ENODEV after. */
    private final class Handle implements OpenDevice {
        private volatile boolean closed;

        @Override public long id() { return id; }

        @Override public String name() { return name; }

        @Override public String reference() { return "dm:" + name; }

        @Override public long sizeSectors() { return sizeBytes > 0 ? sizeBytes / 512 : StoredDevice.this.sizeSectors(); }

        @Override public boolean readOnly() { return readOnly; }

        @Override public boolean supports(BioOp op) { return op != BioOp.WRITE_ZEROES || file == null; }

        @Override
        public List<Extent> allocation(long startSector, long lengthSectors) {
            allocationQueries.add(new long[] {startSector, lengthSectors});
            if (allocationFailure != null) throw allocationFailure;
            List<Extent> answer = allocationAnswer;
            return answer != null ? answer : OpenDevice.super.allocation(startSector, lengthSectors);
        }

        @Override
        public void submit(Bio bio) {
            if (closed) bio.fail(Errno.ENODEV, "handle closed");
            else StoredDevice.this.submit(bio);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                openers.decrementAndGet();
            }
        }
    }
}
