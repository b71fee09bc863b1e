package org.ddmapper.api;

/**
 * What {@code ddsetup info} shows of one device, as of the moment it was read.
 *
 * @param id             this device instance's identity, never reused (see {@link DeviceRef.Instance})
 * @param suspended      whether the device is suspended (new I/O waits)
 * @param openCount      how many openers hold it (NBD connections, stacked devices)
 * @param eventNr        the device's event number: the events the kernel would count (target
 *                       events and renames; {@link EventKind#countsInEventNr()}), 0 at create
 * @param liveTable      whether the live slot holds a table
 * @param inactiveTable  whether the inactive slot holds a loaded, not yet resumed table
 * @param sizeSectors    the live table's length (0 without a live table)
 * @param targetCount    the number of targets in the live table
 * @param heldRequests   requests waiting for a resume
 * @param missingType    a target type the tables need that is not registered (null when none)
 */
public record DeviceInfo(long id, String name, boolean suspended, int openCount, long eventNr,
                         boolean liveTable, boolean inactiveTable, long sizeSectors, boolean readOnly,
                         int targetCount, int heldRequests, String missingType) {

    /** dmsetup's State word. */
    public String state() { return suspended ? "SUSPENDED" : "ACTIVE"; }

    /** dmsetup's "Tables present" text. */
    public String tablesPresent() {
        if (liveTable && inactiveTable) return "LIVE & INACTIVE";
        if (liveTable) return "LIVE";
        if (inactiveTable) return "INACTIVE";
        return "None";
    }
}
