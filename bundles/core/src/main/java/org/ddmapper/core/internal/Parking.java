package org.ddmapper.core.internal;

import java.util.List;
import java.util.Optional;
import org.ddmapper.api.DmException;
import org.ddmapper.api.EventPayload;
import org.ddmapper.core.internal.Handover.Parked;
import org.ddmapper.core.internal.Handover.Stopped;
import org.ddmapper.spi.TargetState;
import org.ddmapper.spi.TargetType;
import org.tinylog.Logger;

/**
 * What happens to one mapped device when a target type its tables use goes away and comes back
 * (the transitions {@link Rebuilds} drives, each under the device's control lock): the device is
 * stopped and parked — its targets' state exported, the targets torn down, the specs kept, its I/O
 * held at the gate — and later unparked onto tables rebuilt on the type's new version, the held
 * I/O replayed and BUNDLE_SWAPPED raised with how long the I/O stalled. I/O in flight is never
 * failed: a table whose requests have not drained lives on until they complete.
 */
final class Parking {
    private Parking() { }

    /** Records a live spec whose targets cannot be built yet because {@code type} is missing (boot, restore, a rebuild); I/O waits. */
    static void parkLive(MappedDevice d, TableSpec spec, String type, List<Optional<TargetState>> states) {
        d.slots.liveSpec = spec;
        d.handover = d.handover.park(type, states, null, false, null);
        d.gate.close();
    }

    /**
     * First half of parking for a type going away: closes the gate and runs presuspend (noflush)
     * if the live table uses {@code type}, without waiting for what is in flight. Returns false when
     * the device does not use the type; else {@link #finishParkFor} must follow under the same
     * control lock. The core stops every device of a wave (no stacking among them) before it
     * finishes any, so their in-flight I/O drains at the same time.
     */
    static boolean stopFor(MappedDevice d, TargetType type) {
        Table t = d.slots.live;
        Table in = d.slots.inactive;
        boolean usesLive = t != null && t.uses(type);
        if (!usesLive && !(in != null && in.uses(type))) return false;
        Handover h = d.handover;
        if (usesLive && !d.suspended && !h.isQuiesced() && !h.isParked()) {
            d.handover = h.with(new Stopped(System.nanoTime()));
            d.gate.close();
            t.presuspend(d, true);
        }
        return true;
    }

    /** The second half (after {@link #stopFor}): drains, exports the targets' state, tears them down and parks. */
    static void finishParkFor(MappedDevice d, TargetType type, String fromBundle) {
        String typeName = type.name();
        Table t = d.slots.live;
        Table in = d.slots.inactive;
        boolean usesLive = t != null && t.uses(type);
        Handover h = d.handover.handedOver(true);
        d.handover = h;
        if (in != null && in.uses(type)) {
            in.destroy(d);
            d.slots.inactive = null; // the spec stays: it is rebuilt with the live one
        }
        if (!usesLive) return;
        boolean drained = true;
        if (!d.suspended && !h.isQuiesced()) { // stopFor closed the gate and ran presuspend
            drained = d.gate.drain(d.drainTimeoutMillis());
            t.postsuspend(d);
        }
        List<Optional<TargetState>> states = t.exportStates(d);
        d.slots.live = null;
        d.slots.liveSpec = t.spec;
        // never error I/O in flight: the old targets live on until it completes, and the rebuild waits for that
        d.handover = h.counted().park(typeName, states, fromBundle, true, drained ? null : t);
        d.gate.close();
        if (drained) t.destroy(d);
        else Logger.warn("device {}: {} requests still in flight while target type {} goes away; its old targets are kept"
                + " until they complete, and the device is rebuilt after that", d.name(), d.gate.inflight(), typeName);
        d.raise(new EventPayload.TargetTypeMissing(typeName, ""));
    }

    /**
     * Rebuilt targets for a parked device: preresume, go live, replay held I/O, and (when
     * {@code announce}) raise BUNDLE_SWAPPED naming the bundle and its versions before and after.
     * Throws (staying parked) on a veto.
     */
    static void unpark(MappedDevice d, Table rebuiltLive, Table rebuiltInactive, String toBundle, boolean announce) {
        if (rebuiltLive != null) {
            try {
                rebuiltLive.preresume();
            } catch (DmException e) {
                rebuiltLive.destroy(d);
                if (rebuiltInactive != null) rebuiltInactive.destroy(d);
                throw e;
            }
            d.slots.goLive(rebuiltLive);
            if (!d.suspended) rebuiltLive.resumeTargets(d); // an operator's suspend stands: the hooks run at their resume
        }
        if (rebuiltInactive != null) {
            d.slots.load(rebuiltInactive);
            d.handover = d.handover.inactiveRefusal(null);
        }
        Parked p = d.handover.parked();
        long stallMillis = d.handover.parkedMillis();
        Handover next = d.handover.unparked(stallMillis);
        d.handover = d.slots.inactive != null || d.slots.inactiveSpec == null ? next.handedOver(false) : next;
        d.gate.stopFailing();
        int replayed = d.reopen();
        if (p != null && p.swapped() && announce) {
            BundleName to = BundleName.parse(toBundle);
            BundleName was = BundleName.parse(p.fromBundle());
            d.raise(new EventPayload.BundleSwapped(to.symbolicName(), was.symbolicName().equals(to.symbolicName()) ? was.version() : was.text(),
                    to.version(), stallMillis, p.type(), "", replayed));
        } else if (p != null && !p.swapped() && rebuiltLive != null) {
            // a boot or restore: the table goes live as a resume would make it, nothing was swapped
            d.raise(new EventPayload.TableLive(rebuiltLive.spec.size(), rebuiltLive.sizeSectors));
            if (!d.suspended) d.raise(new EventPayload.Resumed(replayed));
        }
    }

    /** Puts a rebuilt inactive table back (no event: the slot's content did not change). */
    static void restoreInactive(MappedDevice d, Table table) {
        d.slots.load(table);
        Handover h = d.handover.inactiveRefusal(null);
        d.handover = h.isParked() ? h : h.handedOver(false);
    }

    /** The parked device's rebuild failed for {@code reason}; it stays parked. */
    static void rebuildRefused(MappedDevice d, String reason) { d.handover = d.handover.refused(reason); }

    /** The handed-over inactive table could not be rebuilt, for {@code reason}. */
    static void inactiveRefused(MappedDevice d, String reason) { d.handover = d.handover.inactiveRefusal(reason); }

    /** Fails held and new I/O with {@code reason} until the device is unparked (a type stayed away too long); returns how many failed. */
    static int failWhileParked(MappedDevice d, String reason) {
        return d.handover.isParked() ? d.gate.failWith(reason) : 0;
    }
}
