package org.ddmapper.console;

import java.nio.file.Path;
import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.BundleUpgrades;
import org.ddmapper.api.text.DmText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Live upgrade of a target or checker bundle (the safe form of Felix's {@code update}). */
@Component(service = UpgradeCommand.class, property = {"osgi.command.scope=dm", "osgi.command.function=upgrade"})
public final class UpgradeCommand {
    @Reference
    private BundleUpgrades upgrades;

    @Descriptor("upgrade a target or checker bundle from a jar under I/O; rolls back if the new version does not come up")
    public void upgrade(@Descriptor("the bundle's symbolic name, e.g. org.ddmapper.target.linear") String symbolicName,
                        @Descriptor("the new jar") String jar) {
        Console.print(DmText.upgraded(upgrades.upgrade(symbolicName, Path.of(jar).toAbsolutePath().normalize())));
    }
}
