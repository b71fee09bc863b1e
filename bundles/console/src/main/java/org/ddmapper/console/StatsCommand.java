package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dm:stats [NAME...]}: I/O counters and latency histograms, as {@code ddsetup stats} prints them. */
@Component(service = StatsCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=stats"})
public final class StatsCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("show the I/O counters and latency histograms of every device and the devices it uses")
    public void stats() {
        Console.run(manager, "stats");
    }

    @Descriptor("show the I/O counters and latency histograms of devices and the devices they use")
    public void stats(@Descriptor("device names") String... names) {
        Console.run(manager, "stats", names);
    }
}
