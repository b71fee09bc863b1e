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

    @Descriptor("print a device's events, following new ones until interrupted, COUNT are printed, or the device is removed")
    public void events(@Descriptor("stop after this many events") @Parameter(names = "--count", absentValue = "-1") long count,
                       @Descriptor("device name") String name) throws Exception {
        DeviceRef named = Console.device(name);
        DeviceRef device = DeviceRef.id(manager.info(named).id());
        BlockingQueue<DeviceEvent> arriving = new LinkedBlockingQueue<>(10_000);
        try (AutoCloseable subscription = manager.subscribe(device, arriving::offer)) {
            long printed = 0;
            long last = 0;
            for (DeviceEvent e : manager.events(device, 0)) {
                if (count >= 0 && printed >= count) return;
                Console.print(e.toLine() + "\n");
                printed++;
                last = e.eventNr();
            }
            while (count < 0 || printed < count) {
                DeviceEvent e = arriving.take();
                if (e.eventNr() <= last) continue;
                Console.print(e.toLine() + "\n");
                printed++;
                last = e.eventNr();
                if (e.kind() == EventKind.REMOVED) return;
            }
        }
    }
}
