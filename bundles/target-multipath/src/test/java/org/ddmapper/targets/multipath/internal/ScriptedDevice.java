package org.ddmapper.targets.multipath.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * A fake path for failure-policy tests: an in-memory disk (shared between paths to the same
 * "storage") with a script of what the next requests do: succeed, fail with an errno, or hang
 * until released. With an empty script every request succeeds.
 */
public final class ScriptedDevice implements BlockDevice {
    public sealed interface Step permits Ok, Fail, Hang {}
    public record Ok() implements Step {}
    public record Fail(Errno errno) implements Step {}
    public record Hang() implements Step {}

    private final String reference;
    private final byte[] storage;
    private final Deque<Step> script = new ArrayDeque<>();
    private final List<Bio> hung = new ArrayList<>();
    private volatile Step always;
    final AtomicInteger submitted = new AtomicInteger();
    volatile boolean closed;

    ScriptedDevice(String reference, byte[] storage) {
        this.reference = reference;
        this.storage = storage;
    }

    /** The next {@code n} requests fail with {@code errno}. */
    public synchronized ScriptedDevice failNext(int n, Errno errno) {
        for (int i = 0; i < n; i++) script.add(new Fail(errno));
        return this;
    }

    /** The next request hangs until {@link #release}. */
    synchronized ScriptedDevice hangNext() {
        script.add(new Hang());
        return this;
    }

    /** Every request (after the script) does this; null = succeed. */
    public ScriptedDevice always(Step step) {
        always = step;
        return this;
    }

    @Override public String reference() { return reference; }

    @Override public long sizeSectors() { return storage.length / Bio.SECTOR_BYTES; }

    @Override
    public void submit(Bio bio) {
        submitted.incrementAndGet();
        if (closed) {
            bio.fail(Errno.ENODEV, "closed");
            return;
        }
        Step step;
        synchronized (this) {
            step = script.isEmpty() ? always : script.poll();
            if (step instanceof Hang) {
                hung.add(bio);
                return;
            }
        }
        if (step instanceof Fail f) bio.fail(f.errno(), reference + " scripted " + f.errno());
        else perform(bio);
    }

    /** Completes hung requests as if the path woke up: they do their I/O and succeed. */
    void release() {
        List<Bio> wake;
        synchronized (this) {
            wake = new ArrayList<>(hung);
            hung.clear();
        }
        wake.forEach(this::perform);
    }

    synchronized int hungCount() { return hung.size(); }

    private void perform(Bio bio) {
        int offset = (int) (bio.sector() * Bio.SECTOR_BYTES);
        ByteBuffer data = bio.data();
        synchronized (storage) {
            if (bio.op() == BioOp.READ) data.put(storage, offset, (int) bio.lengthBytes());
            else if (bio.op() == BioOp.WRITE) data.get(storage, offset, (int) bio.lengthBytes());
        }
        bio.complete(IoStatus.OK);
    }

    @Override
    public void close() { closed = true; }

    public boolean isClosed() { return closed; }

    public int submitted() { return submitted.get(); }
}
