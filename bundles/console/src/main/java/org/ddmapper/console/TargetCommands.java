package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.text.DmText;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Target types and versions. */
@Component(service = TargetCommands.class, property = {"osgi.command.scope=dm", "osgi.command.function=targets",
        "osgi.command.function=version"})
public final class TargetCommands {
    @Reference
    private DeviceManager manager;
    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("list the registered target types and their versions, the most recently registered first")
    public void targets() {
        Console.run(manager, "targets");
    }

    @Descriptor("show the api and core versions")
    public void version() {
        Console.run(manager, this::versionText, "version");
    }

    private String versionText() {
        Bundle api = FrameworkUtil.getBundle(DmText.class);
        ServiceReference<DeviceManager> core = context.getServiceReference(DeviceManager.class);
        return DmText.version(api == null ? "unknown" : api.getVersion().toString(),
                core == null ? "unknown" : core.getBundle().getVersion().toString());
    }
}
