package org.ddmapper.console;

import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Messages to targets. */
@Component(service = MessageCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=message"})
public final class MessageCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("send a message to the target covering SECTOR, or to target @INDEX")
    public void message(@Descriptor("device name") String name, @Descriptor("SECTOR or @INDEX") String target,
                        @Descriptor("the message's words") String... words) {
        String reply = manager.message(Console.device(name), TargetRef.parse(target), new Message(List.of(words), null, List.of(), 0));
        if (reply != null && !reply.isEmpty()) Console.print(reply.endsWith("\n") ? reply : reply + "\n");
    }
}
