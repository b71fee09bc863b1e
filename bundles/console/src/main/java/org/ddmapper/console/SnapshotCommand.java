package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.text.SnapshotText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Every snapshot as lvs would show it (the text of {@code ddsetup snapshots}, from {@link SnapshotText}). */
@Component(service = SnapshotCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=snapshots"})
public final class SnapshotCommand {
    @Reference
    private DeviceManager manager;

    @Descriptor("show every snapshot: origin, COW, store, Data% and state (like lvs)")
    public void snapshots() {
        Console.print(SnapshotText.render(manager, null));
    }

    @Descriptor("show one snapshot device, or the snapshots of one origin device")
    public void snapshots(@Descriptor("a snapshot or origin device") String name) {
        Console.print(SnapshotText.render(manager, DeviceRef.of(name)));
    }
}
