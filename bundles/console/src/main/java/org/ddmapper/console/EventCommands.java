package org.ddmapper.console;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** A device's events: its recent history, then each new one as it happens (as ddsetup events prints them). */
@Component(service = EventCommands.class, property = {"osgi.command.scope=dm", "osgi.command.function=events"})
public final class EventCommands {
    @Reference
    private DeviceManager manager;

    /** Events that may wait to be printed; beyond that they are dropped and counted, as on a ddlink link. */
    static final int MAX_QUEUED_EVENTS = 4096;

    @Descriptor("print a device's events, following new ones until interrupted, COUNT are printed, or the device is removed;"
            + " events that arrive faster than they are printed are dropped and their number reported")
    public void events(@Descriptor("stop after this many events") @Parameter(names = "--count", absentValue = "-1") long count,
                       @Descriptor("device name") String name) throws Exception {
        DeviceRef named = Console.device(name);
        DeviceRef device = DeviceRef.id(manager.info(named).id());
        // events, and before the first event after a gap the number dropped (as a link's EVENTS_LOST item)
        BlockingQueue<Object> arriving = new LinkedBlockingQueue<>(MAX_QUEUED_EVENTS + 1);
        long[] dropped = {0};
        try (AutoCloseable subscription = manager.subscribe(device, e -> {
            synchronized (dropped) {
                if (arriving.size() >= MAX_QUEUED_EVENTS) {
                    dropped[0]++;
                    return;
                }
                if (dropped[0] > 0) arriving.add(dropped[0]);
                dropped[0] = 0;
                arriving.add(e);
            }
        })) {
            long printed = 0;
            long last = 0;
            for (DeviceEvent e : manager.events(device, 0)) {
                if (count >= 0 && printed >= count) return;
                Console.print(e.toLine() + "\n");
                printed++;
                last = e.eventNr();
            }
            while (count < 0 || printed < count) {
                Object next = arriving.take();
                if (next instanceof Long lost) {
                    System.err.println("dm:events: " + lost + " events lost");
                    System.err.flush();
                    continue;
                }
                DeviceEvent e = (DeviceEvent) next;
                if (e.eventNr() <= last) continue;
                Console.print(e.toLine() + "\n");
                printed++;
                last = e.eventNr();
                if (e.kind() == EventKind.REMOVED) return;
            }
        }
    }
}
