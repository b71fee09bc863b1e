package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Views across every multipath map, as {@code multipath -ll} and {@code multipathd show paths}
 * draw them (the text of {@code ddsetup multipath}).
 */
@Component(service = MultipathCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=multipath"})
public final class MultipathCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("every multipath map's topology (like multipath -ll), or: -ll | show topology | show paths, then an optional map name")
    public void multipath(@Descriptor("-ll, show topology or show paths, then an optional map name") String... words) {
        Console.run(manager, "multipath", words);
    }
}
