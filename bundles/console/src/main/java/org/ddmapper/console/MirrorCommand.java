package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.text.MirrorText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code dm:mirror [NAME]}: every mirror's legs, sync and log, as {@code ddsetup mirror} prints them ({@link MirrorText}). */
@Component(service = MirrorCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=mirror"})
public final class MirrorCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("show every mirror's legs, their states, how much is in sync, and the log")
    public void mirror() {
        Console.print(MirrorText.render(manager, null));
    }

    @Descriptor("show one mirror's legs, their states, how much is in sync, and the log")
    public void mirror(@Descriptor("device name") String name) {
        Console.print(MirrorText.render(manager, Console.device(name)));
    }
}
