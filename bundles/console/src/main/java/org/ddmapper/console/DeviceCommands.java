package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.text.DmText;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Devices: create, remove, rename, suspend, resume, info, ls, deps, wait (dmsetup's verbs, ddsetup's output). */
@Component(service = DeviceCommands.class, property = {"osgi.command.scope=dm",
        "osgi.command.function=create", "osgi.command.function=remove", "osgi.command.function=rename",
        "osgi.command.function=suspend", "osgi.command.function=resume", "osgi.command.function=info",
        "osgi.command.function=ls", "osgi.command.function=deps", "osgi.command.function=wait"})
public final class DeviceCommands {
    @Reference
    private DeviceManager manager;

    @Descriptor("create a device, with a table loaded and resumed when one is given")
    public void create(@Descriptor("one table line") @Parameter(names = "--table", absentValue = "") String table,
                       @Descriptor("device name") String name) {
        manager.create(name, table);
    }

    @Descriptor("create a device with a table of several lines, each given with --table (as ddsetup create takes them)")
    public void create(@Descriptor("--table LINE, repeated, and the device name") String... args) {
        String[] table = Console.tableLinesAndName("dm:create", args);
        manager.create(table[1], table[0]);
    }

    @Descriptor("create a device from a table file")
    public void create(@Descriptor("device name") String name, @Descriptor("table file (one target per line)") java.io.File file)
            throws java.io.IOException {
        manager.create(name, java.nio.file.Files.readString(file.toPath()));
    }

    @Descriptor("remove a device")
    public void remove(@Descriptor("remove even while open, failing held I/O") @Parameter(names = {"-f", "--force"}, presentValue = "true",
            absentValue = "false") boolean force, @Descriptor("device name") String name) {
        manager.remove(Console.device(name), force);
    }

    @Descriptor("rename a device")
    public void rename(@Descriptor("current name") String name, @Descriptor("new name") String newName) {
        manager.rename(Console.device(name), newName);
    }

    @Descriptor("suspend a device: new I/O waits, in-flight I/O drains")
    public void suspend(@Descriptor("keep I/O a target queued for the next table") @Parameter(names = "--noflush", presentValue = "true",
            absentValue = "false") boolean noflush, @Descriptor("device name") String name) {
        manager.suspend(Console.device(name), noflush);
    }

    @Descriptor("resume a device, swapping in a loaded table")
    public void resume(@Descriptor("device name") String name) {
        manager.resume(Console.device(name));
    }

    @Descriptor("show every device's state")
    public void info() {
        Console.print(DmText.info(manager, null));
    }

    @Descriptor("show a device's state")
    public void info(@Descriptor("device name") String name) {
        Console.print(DmText.info(manager, Console.device(name)));
    }

    @Descriptor("list devices")
    public void ls() {
        Console.print(DmText.ls(manager));
    }

    @Descriptor("list the devices a device's live table uses")
    public void deps(@Descriptor("device name") String name) {
        Console.print(DmText.deps(manager, Console.device(name)));
    }

    @Descriptor("wait until a device raises an event (its event number passes 0)")
    public void wait(@Descriptor("device name") String name) throws InterruptedException {
        Console.waitEvent(manager, Console.device(name), 0);
    }

    @Descriptor("wait until a device's event number passes EVENT_NR")
    public void wait(@Descriptor("device name") String name, @Descriptor("event number") long eventNr) throws InterruptedException {
        DeviceRef device = Console.device(name);
        Console.waitEvent(manager, device, eventNr);
    }
}
