package org.ddmapper.api;

import java.util.Map;

/**
 * A typed event with its payload, unlike the kernel's bare counter: which device (name at the
 * time and instance id), the event's number in the device's event stream (every event counts
 * there, so a listener can tell a gap; the device's event number of {@link DeviceInfo} counts
 * only what the kernel counts, see {@link EventKind#countsInEventNr()}), the kind, the index of
 * the target that raised it (-1 for the core) and the details. The details are the wire and text
 * form; {@link #payload()} reads them as a typed record.
 */
public record DeviceEvent(String device, long deviceId, long eventNr, EventKind kind, int targetIndex,
                          Map<String, String> details, long timeMillis) {

    public DeviceEvent {
        details = Map.copyOf(details);
    }

    /**
     * The details read as the typed record of this event's kind ({@link EventPayload}); details
     * that do not fit give {@link EventPayload.Unparsed}, never an exception.
     */
    public EventPayload payload() {
        return EventPayload.parse(kind, details);
    }

    /**
     * Whether this event moves the device's event number, as the kernel would count it: its kind's
     * rule ({@link EventKind#countsInEventNr()}), less a group switch nobody asked for (I/O moving
     * to another group after paths failed: the kernel counted the failures).
     */
    public boolean countsInEventNr() {
        if (kind == EventKind.PG_SWITCHED && "0".equals(details.get("requested"))) return false;
        return kind.countsInEventNr();
    }

    /** One line of text: {@code NAME EVENT_NR KIND [target=N] key=value...} (what ddsetup events prints). */
    public String toLine() {
        StringBuilder sb = new StringBuilder().append(device).append(' ').append(eventNr).append(' ')
                .append(kind.name().toLowerCase());
        if (targetIndex >= 0) sb.append(" target=").append(targetIndex);
        details.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> sb.append(' ').append(e.getKey()).append('=').append(TableLine.escape(e.getValue())));
        return sb.toString();
    }
}
