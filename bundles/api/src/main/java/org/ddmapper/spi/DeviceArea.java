package org.ddmapper.spi;

import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Extent;
import org.ddmapper.api.ExtentList;
import org.ddmapper.api.TableLine;

/**
 * The part of a device a target maps onto, written {@code <dev> <offset>} in a table (linear,
 * each stripe, delay's classes, flakey, each mirror leg). Reading one checks that the target's
 * length fits on the device from the offset, as the kernel does when a table is completed.
 */
public record DeviceArea(BlockDevice device, long offsetSectors) {

    /**
     * Reads {@code <dev> <offset>} and checks that {@code lengthSectors} fit from the offset.
     * {@code what} names the device in errors ("device", "stripe 2 device"); the offset is named
     * the same with "device" replaced by "offset" ("stripe 2 offset").
     */
    public static DeviceArea next(TableArgs args, String what, long lengthSectors) {
        BlockDevice device = args.nextDevice(what);
        String offsetName = what.endsWith("device") ? what.substring(0, what.length() - 6) + "offset" : what + " offset";
        long offset = args.nextSectors(offsetName);
        long size = device.sizeSectors();
        if (offset > size || lengthSectors > size - offset)
            throw args.error("device '" + device.reference() + "' too small: offset " + offset + " + length "
                    + lengthSectors + " > size " + size + " sectors");
        return new DeviceArea(device, offset);
    }

    /** Sends a request of the target (sectors relative to the target) to this area; a flush goes as it is. */
    public void submit(Bio bio) {
        device.submit(bio.op() == BioOp.FLUSH ? bio : bio.remap(offsetSectors + bio.sector()));
    }

    /** The allocation of the target's sectors {@code [startSector, +lengthSectors)} as this area's device answers it. */
    public List<Extent> allocation(long startSector, long lengthSectors) {
        ExtentList out = new ExtentList(startSector, lengthSectors);
        out.addAll(device.allocation(offsetSectors + startSector, lengthSectors));
        return out.toList();
    }

    /** The device reference as written, escaped for a table line. */
    public String reference() {
        return TableLine.escape(device.reference());
    }

    /** {@code <dev> <offset>} as a table line shows it. */
    public String tableText() {
        return reference() + " " + offsetSectors;
    }
}
