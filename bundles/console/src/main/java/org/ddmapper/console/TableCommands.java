package org.ddmapper.console;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.text.DmText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Tables: load, clear, table, status. */
@Component(service = TableCommands.class, property = {"osgi.command.scope=dm",
        "osgi.command.function=load", "osgi.command.function=clear", "osgi.command.function=table", "osgi.command.function=status"})
public final class TableCommands {
    @Reference
    private DeviceManager manager;

    @Descriptor("load a one-line table into a device's inactive slot")
    public void load(@Descriptor("one table line") @Parameter(names = "--table", absentValue = "") String table,
                     @Descriptor("device name") String name) {
        if (table.isBlank()) throw new DmException(Errno.EINVAL, "load needs --table LINE or a table file");
        manager.load(Console.device(name), table);
    }

    @Descriptor("load a table of several lines, each given with --table, into a device's inactive slot")
    public void load(@Descriptor("--table LINE, repeated, and the device name") String... args) {
        String[] table = Console.tableLinesAndName("dm:load", args);
        if (table[0].isBlank()) throw new DmException(Errno.EINVAL, "load needs --table LINE or a table file");
        manager.load(Console.device(table[1]), table[0]);
    }

    @Descriptor("load a table file into a device's inactive slot")
    public void load(@Descriptor("device name") String name, @Descriptor("table file (one target per line)") File file) throws IOException {
        manager.load(Console.device(name), Files.readString(file.toPath()));
    }

    @Descriptor("discard a device's inactive table")
    public void clear(@Descriptor("device name") String name) {
        manager.clear(Console.device(name));
    }

    @Descriptor("show every device's table")
    public void table(@Descriptor("the inactive slot") @Parameter(names = "--inactive", presentValue = "true", absentValue = "false")
                      boolean inactive) {
        Console.print(DmText.table(manager, null, inactive));
    }

    @Descriptor("show a device's table")
    public void table(@Descriptor("the inactive slot") @Parameter(names = "--inactive", presentValue = "true", absentValue = "false")
                      boolean inactive, @Descriptor("device name") String name) {
        Console.print(DmText.table(manager, Console.device(name), inactive));
    }

    @Descriptor("show every device's status lines")
    public void status() {
        Console.print(DmText.status(manager, null));
    }

    @Descriptor("show a device's status lines")
    public void status(@Descriptor("device name") String name) {
        Console.print(DmText.status(manager, Console.device(name)));
    }
}
