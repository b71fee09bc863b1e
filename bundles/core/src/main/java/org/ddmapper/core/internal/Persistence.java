package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.tinylog.Logger;

/**
 * Keeps the saved device set ({@link StateStore}, in the home's state directory) in step with the
 * live one: every device's name, id and the table lines of both slots, lower devices first, and
 * the next id. A verb that changed the set saves it and reports a failed save to its caller; a
 * change nobody waits for (boot, a device given up) logs it.
 */
final class Persistence {
    private final Topology topology;
    private final BooleanSupplier saving;
    private final Object lock = new Object();
    private volatile StateStore store;

    /** {@code saving} says whether changes are saved now (persistence on, the core started and not closing). */
    Persistence(Topology topology, BooleanSupplier saving) {
        this.topology = topology;
        this.saving = saving;
    }

    /** Uses the store in {@code stateDir} from now on. */
    void open(Path stateDir) { store = new StateStore(stateDir); }

    /** What the store holds. */
    StateStore.Snapshot load() { return store.load(); }

    /** Saves the device set where no caller waits for it: a failure is logged. */
    void save() {
        try {
            write();
        } catch (IOException e) {
            Logger.error("cannot save device state to {}: {}", store.file(), StateStore.describe(e));
        }
    }

    /**
     * Saves the device set after a verb changed it. Like the kernel, the change stands when the
     * save fails (the device is created, loaded, removed...), but the caller must learn that a
     * restart would not bring it back: the verb fails with EIO naming the change, the file and
     * the cause.
     */
    void saveOrReport(String change) {
        try {
            write();
        } catch (IOException e) {
            String cause = StateStore.describe(e);
            Logger.error("{}, but the device state could not be saved to {}: {}", change, store.file(), cause);
            throw new DmException(Errno.EIO, change + ", but the device state could not be saved to " + store.file() + " (" + cause
                    + "); a restart would not bring this change back");
        }
    }

    private void write() throws IOException {
        if (!saving.getAsBoolean()) return;
        synchronized (lock) {
            List<StateStore.DeviceRecord> records = new ArrayList<>();
            for (MappedDevice d : topology.inOrder(false)) {
                if (d.isRemoved()) continue;
                TableSpec live = d.liveSpec();
                TableSpec inactive = d.inactiveSpec();
                records.add(new StateStore.DeviceRecord(d.id(), d.name(), live == null ? null : live.tableLines(),
                        inactive == null ? null : inactive.tableLines()));
            }
            store.save(new StateStore.Snapshot(topology.nextId(), records));
        }
    }
}
