package org.ddmapper.core.internal;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.ddmapper.spi.TargetState;

/**
 * Where one mapped device stands while target types and their bundles change under it: one
 * immutable value that {@link MappedDevice} replaces whole under its control lock, so a reader on
 * another thread (info, status, an upgrade's progress) always sees a consistent state.
 *
 * <p>The live slot goes through {@link Phase phases}:
 * <pre>
 *   Serving ──stop (a type going away, an upgrade's quiesce)──► Stopped ──drained──► Quiesced
 *      ▲                                                          │                    │
 *      └──────────── released / abandoned / resumed ──────────────┴────────────────────┤
 *      │                                                                               │ type goes away
 *      └──────────── rebuilt (unpark) or resumed onto another table ◄── Parked ◄───────┘
 * </pre>
 * "Parked" means one thing: the device's targets are torn down (or were never built, at boot)
 * and it waits for a target type to be registered, its I/O held at the gate. The other fields
 * outlive a phase: whether a built table was handed over (its rebuild accepts what the old table
 * tolerated), why the handed-over inactive table was refused, and two counters an upgrade reads.
 *
 * @param handedOver      a type going away tore down one of the device's built tables that is not rebuilt yet
 * @param inactiveRefusal why the handed-over inactive table could not be rebuilt (the new version refused it), or null
 * @param swapParks       how often a type going away parked the live table (an upgrade tells its own parks from earlier ones)
 * @param lastStallMillis how long the last park held the device's I/O
 */
record Handover(Phase phase, boolean handedOver, String inactiveRefusal, long swapParks, long lastStallMillis) {

    /** A new device: serving, nothing handed over. */
    static final Handover NEW = new Handover(new Serving(), false, null, 0, 0);

    /** The live slot's phase. */
    sealed interface Phase permits Serving, Stopped, Quiesced, Parked {}

    /** Targets built (or no table); I/O flows unless the operator suspended the device. */
    record Serving() implements Phase {}

    /**
     * I/O blocked since {@code sinceNanos} and presuspended, for a type going away or an upgrade's
     * quiesce, with a drain to follow under the same control lock; or an operator's suspend that
     * overtook a quiesce (the stall a later park reports still counts from then).
     */
    record Stopped(long sinceNanos) implements Phase {}

    /** Drained ahead of a bundle update since {@code sinceNanos}; the park that follows needs no drain of its own. */
    record Quiesced(long sinceNanos) implements Phase {}

    /**
     * Waiting for target type {@code type} since {@code sinceNanos}, the live spec kept to rebuild from.
     *
     * @param fromBundle the bundle ("name version") whose type went away, or null (boot, restore)
     * @param swapped    the live targets were torn down by their type going away (the rebuild announces BUNDLE_SWAPPED)
     * @param states     state the torn-down targets exported, per index of the live spec (null: none)
     * @param refusal    why the rebuild failed although the types are back, or null
     * @param draining   the torn-down table while I/O it took before the park is still in flight on it, or null
     */
    record Parked(String type, long sinceNanos, String fromBundle, boolean swapped, List<Optional<TargetState>> states,
                  String refusal, Table draining) implements Phase {}

    /** The type the device waits for, or null when it is not parked. */
    String parkedType() { return phase instanceof Parked p ? p.type() : null; }

    Parked parked() { return phase instanceof Parked p ? p : null; }

    boolean isParked() { return phase instanceof Parked; }

    boolean isQuiesced() { return phase instanceof Quiesced; }

    /** Since when the device's I/O has been stopped for a swap or a type going away (0: it has not). */
    long stoppedSinceNanos() {
        if (phase instanceof Stopped s) return s.sinceNanos();
        if (phase instanceof Quiesced q) return q.sinceNanos();
        return 0;
    }

    /** How long the device has been parked (0 when it is not). */
    long parkedMillis() {
        return phase instanceof Parked p ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - p.sinceNanos()) : 0;
    }

    Handover with(Phase next) { return new Handover(next, handedOver, inactiveRefusal, swapParks, lastStallMillis); }

    Handover handedOver(boolean on) { return new Handover(phase, on, inactiveRefusal, swapParks, lastStallMillis); }

    Handover inactiveRefusal(String reason) { return new Handover(phase, handedOver, reason, swapParks, lastStallMillis); }

    /**
     * Parked for {@code type}: a first park starts the stall clock (at the stop that preceded it, if
     * any); a device already parked keeps its clock, bundle and states and only changes the type.
     */
    Handover park(String type, List<Optional<TargetState>> states, String fromBundle, boolean swapped, Table draining) {
        if (phase instanceof Parked p)
            return with(new Parked(type, p.sinceNanos(), p.fromBundle(), p.swapped() || swapped, states, p.refusal(),
                    draining != null ? draining : p.draining()));
        long since = stoppedSinceNanos() != 0 ? stoppedSinceNanos() : System.nanoTime();
        return with(new Parked(type, since, fromBundle, swapped, states, null, draining));
    }

    /** A park caused by a type going away: counted for the upgrade that waits for it. */
    Handover counted() { return new Handover(phase, handedOver, inactiveRefusal, swapParks + 1, lastStallMillis); }

    /** The parked device's rebuild failed for {@code reason} (it stays parked). */
    Handover refused(String reason) {
        Parked p = parked();
        return with(new Parked(p.type(), p.sinceNanos(), p.fromBundle(), p.swapped(), p.states(), reason, p.draining()));
    }

    /** The old table of a park has drained and is destroyed. */
    Handover drained() {
        Parked p = parked();
        return with(new Parked(p.type(), p.sinceNanos(), p.fromBundle(), p.swapped(), p.states(), p.refusal(), null));
    }

    /** Rebuilt and serving again after a park that held I/O for {@code stallMillis}. */
    Handover unparked(long stallMillis) {
        return new Handover(new Serving(), handedOver, inactiveRefusal, swapParks, stallMillis);
    }
}
