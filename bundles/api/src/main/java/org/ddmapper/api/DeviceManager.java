package org.ddmapper.api;

import java.util.List;

/**
 * The device-mapper verbs, as dmsetup has them. Every method either succeeds or throws a
 * {@link DmException} whose message is one readable sentence and which changed nothing.
 * A device name or id that names no device is ENXIO ("no device named 'x'"), and a name already
 * in use EBUSY, as the kernel's dm ioctls answer; ENODEV is for I/O and references to something
 * that went away or never was.
 * Registered as an OSGi service by the core.
 */
public interface DeviceManager {

    /** Creates a device; with a non-blank table, loads it and resumes (dmsetup create). */
    DeviceInfo create(String name, String table);

    /** Loads a table into the inactive slot, replacing what was there; the live table keeps serving. */
    DeviceInfo load(DeviceRef device, String table);

    /** Discards the inactive slot. */
    DeviceInfo clear(DeviceRef device);

    /** Stops new I/O (it waits) and drains in-flight I/O; with noflush, I/O a target queued is held for the next table. */
    DeviceInfo suspend(DeviceRef device, boolean noflush);

    /** Swaps a loaded table in (if any) and lets I/O flow again, replaying held requests. */
    DeviceInfo resume(DeviceRef device);

    /** Removes a device; refused while open or holding I/O unless forced (force fails held I/O with a reason). */
    void remove(DeviceRef device, boolean force);

    DeviceInfo rename(DeviceRef device, String newName);

    List<DeviceInfo> list();

    DeviceInfo info(DeviceRef device);

    /** The table lines (TABLE text) of the live slot or, with inactive, of the inactive slot. */
    List<TargetStatus> table(DeviceRef device, boolean inactive);

    /** The status lines (INFO text) of the live table. */
    List<TargetStatus> status(DeviceRef device);

    /**
     * The status lines (INFO text) of the live table or, with inactive, of the loaded table that
     * is not live yet (dmsetup {@code status --inactive}). A manager that cannot read the
     * inactive table's status refuses with EOPNOTSUPP.
     */
    default List<TargetStatus> status(DeviceRef device, boolean inactive) {
        if (!inactive) return status(device);
        throw new DmException(Errno.EOPNOTSUPP, "the status of an inactive table is not available here");
    }

    /**
     * The references of the devices the live table uses, as written, each once, in the kernel's
     * order (the device first used last comes first).
     */
    List<String> deps(DeviceRef device);

    /** Sends a message to one target of the live table; returns the target's reply text ("" when it has none). */
    String message(DeviceRef device, TargetRef target, Message message);

    /**
     * Waits until the device's event number ({@link DeviceInfo#eventNr()}: the events the kernel
     * counts) exceeds {@code afterEventNr} or the timeout passes; returns the event number then.
     */
    long waitEvent(DeviceRef device, long afterEventNr, long timeoutMillis) throws InterruptedException;

    /**
     * The device's most recent events (a bounded history) whose number in its event stream
     * ({@link DeviceEvent#eventNr()}, every event counted) is above {@code afterEventNr}.
     */
    List<DeviceEvent> events(DeviceRef device, long afterEventNr);

    /** Hears the events of one device instance (or of all devices when device is null) until closed. */
    AutoCloseable subscribe(DeviceRef device, DeviceEventListener listener);

    /**
     * The device's I/O statistics: its own counters and those of each device its live table uses.
     * Counting is always on and costs the I/O path no lock. A manager that keeps none refuses with
     * EOPNOTSUPP.
     */
    default DeviceStats stats(DeviceRef device) {
        throw new DmException(Errno.EOPNOTSUPP, "I/O statistics are not kept here");
    }

    /** The registered target types, the most recently registered first (as the kernel lists them). */
    List<TargetTypeInfo> targets();

    /**
     * Opens a device for I/O. The handle counts as an opener (remove refuses without force), is
     * bound to this device instance (a rename does not move it; after a remove it fails I/O
     * with ENODEV) and sees the live table, whichever it is.
     */
    OpenDevice open(DeviceRef device);

    /** An open mapped device. */
    interface OpenDevice extends BlockDevice {
        /** The device's identity. */
        long id();

        /** The device's current name. */
        String name();
    }
}
