package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Messages to targets, printed as ddsetup prints the answer. */
@Component(service = MessageCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=message"})
public final class MessageCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("send a message to the target covering SECTOR, or to target @INDEX: NAME SECTOR|@INDEX WORDS...")
    public void message(@Descriptor("NAME SECTOR|@INDEX WORDS...") String... args) {
        Console.run(manager, "message", args);
    }
}
