package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Tables: load (and its alias reload), clear, table, status — ddsetup's words and output. */
@Component(service = TableCommands.class, property = {"osgi.command.scope=dm", "osgi.command.function=load",
        "osgi.command.function=reload", "osgi.command.function=clear", "osgi.command.function=table", "osgi.command.function=status"})
public final class TableCommands {
    @Reference
    private DeviceManager manager;

    @Descriptor("load a table into a device's inactive slot: NAME --table LINE... | NAME FILE")
    public void load(@Descriptor("NAME and --table LINE (repeatable) or a table FILE") String... args) {
        Console.run(manager, "load", args);
    }

    @Descriptor("the same as load")
    public void reload(@Descriptor("NAME and --table LINE (repeatable) or a table FILE") String... args) {
        Console.run(manager, "reload", args);
    }

    @Descriptor("discard a device's inactive table: NAME")
    public void clear(@Descriptor("NAME") String... args) {
        Console.run(manager, "clear", args);
    }

    @Descriptor("show tables: [--inactive] [--target TYPE] [NAME...]")
    public void table(@Descriptor("[--inactive] [--target TYPE] [NAME...]") String... args) {
        Console.run(manager, "table", args);
    }

    @Descriptor("show status lines: [--inactive] [--target TYPE] [NAME...]")
    public void status(@Descriptor("[--inactive] [--target TYPE] [NAME...]") String... args) {
        Console.run(manager, "status", args);
    }
}
