package org.ddmapper.console;

import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.text.MultipathText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Views across every multipath map, as {@code multipath -ll} and {@code multipathd show paths}
 * draw them (the text of {@code ddsetup multipath}, from {@link MultipathText}).
 */
@Component(service = MultipathCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=multipath"})
public final class MultipathCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("show every multipath map's topology (like multipath -ll)")
    public void multipath() {
        Console.print(MultipathText.topology(manager, null));
    }

    @Descriptor("-ll | show topology | show paths, then an optional map name (like multipath -ll, multipathd show paths)")
    public void multipath(@Descriptor("-ll, show topology or show paths, then an optional map name") String... words) {
        Console.print(MultipathText.parse(List.of(words)).render(manager));
    }
}
