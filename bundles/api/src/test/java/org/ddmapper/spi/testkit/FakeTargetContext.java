package org.ddmapper.spi.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.PassedFd;
import org.ddmapper.api.TableLine;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.TargetContext;

/**
 * A target's surroundings for unit tests: a length, devices known by reference (opened through
 * {@link #args}), the events raised, and a real scheduler shut down by {@link #close()}.
 */
public final class FakeTargetContext implements TargetContext, AutoCloseable {

    /** An event a target raised. */
    public record Raised(EventKind kind, Map<String, String> details) {}

    private final long lengthSectors;
    private final Map<String, BlockDevice> devices = new HashMap<>();
    private final List<Raised> events = new ArrayList<>();
    private ScheduledThreadPoolExecutor scheduler;

    public FakeTargetContext(long lengthSectors, BlockDevice... known) {
        this.lengthSectors = lengthSectors;
        for (BlockDevice d : known) devices.put(d.reference(), d);
    }

    /** A cursor over {@code words} (split as a table line is) for a target of {@code type}. */
    public TableArgs args(String type, String words) {
        return new TableArgs(type, TableLine.splitWords(words), this::openDevice);
    }

    @Override
    public String deviceName() { return "test"; }

    @Override
    public int targetIndex() { return 0; }

    @Override
    public long startSector() { return 0; }

    @Override
    public long lengthSectors() { return lengthSectors; }

    @Override
    public boolean readOnly() { return false; }

    @Override
    public synchronized void raiseEvent(EventKind kind, Map<String, String> details) {
        events.add(new Raised(kind, Map.copyOf(details)));
    }

    /** The events raised so far, in order. */
    public synchronized List<Raised> events() { return List.copyOf(events); }

    @Override
    public synchronized ScheduledExecutorService scheduler() {
        if (scheduler == null) {
            scheduler = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "test-target-scheduler");
                t.setDaemon(true);
                return t;
            });
            scheduler.setRemoveOnCancelPolicy(true);
        }
        return scheduler;
    }

    @Override
    public BlockDevice openDevice(String reference) {
        BlockDevice d = devices.get(reference);
        if (d == null) throw new DmException(Errno.ENODEV, "'" + reference + "': no such device");
        return d;
    }

    @Override
    public BlockDevice adoptSocket(String reference, PassedFd socket, boolean negotiated) {
        throw new DmException(Errno.EOPNOTSUPP, "no sockets in unit tests");
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) scheduler.shutdownNow();
    }
}
