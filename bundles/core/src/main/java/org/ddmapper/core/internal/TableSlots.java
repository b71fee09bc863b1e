package org.ddmapper.core.internal;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;

/**
 * A mapped device's two table slots, live and inactive: for each, the built table (null while its
 * targets are not built: parked, or restored and waiting for its types) and the spec it was built
 * from, and what the live table offers its openers. The fields are volatile: the I/O path and
 * status readers take no lock; they change only under the device's control lock.
 */
final class TableSlots {
    volatile Table live;
    volatile TableSpec liveSpec;
    volatile Table inactive;
    volatile TableSpec inactiveSpec;

    /** The live spec when its targets are not built (parked), else null. */
    TableSpec unbuiltLive() { return live == null ? liveSpec : null; }

    /** The inactive spec when its targets are not built (restored, or torn down with a type), else null. */
    TableSpec unbuiltInactive() { return inactive == null ? inactiveSpec : null; }

    /** Puts a built table into the live slot. */
    void goLive(Table t) {
        live = t;
        liveSpec = t.spec;
    }

    /** Puts a built table into the inactive slot; returns what was there. */
    Table load(Table t) {
        Table old = inactive;
        inactive = t;
        inactiveSpec = t.spec;
        return old;
    }

    /** Empties the inactive slot; returns the table that was there. */
    Table clearInactive() {
        Table old = inactive;
        inactive = null;
        inactiveSpec = null;
        return old;
    }

    /** Whether the live table refuses writes (all its devices are read-only); false without one. */
    boolean readOnly() {
        Table t = live;
        return t != null && t.readOnly();
    }

    /** The live table's logical block in bytes (a sector without one). */
    int logicalBlockBytes() {
        Table t = live;
        return t == null ? Bio.SECTOR_BYTES : t.logicalBlockBytes();
    }

    /** Whether the live table carries out {@code op} natively (true without one: nothing says otherwise). */
    boolean supports(BioOp op) {
        Table t = live;
        return t == null || t.supports(op);
    }

    /** The live spec's size in sectors (0 without one). */
    long sizeSectors() {
        TableSpec ls = liveSpec;
        return ls == null ? 0 : ls.sizeSectors();
    }

    /** The references the live table's targets use (none without one). */
    List<String> deps() {
        Table t = live;
        return t == null ? List.of() : t.deps();
    }
}
