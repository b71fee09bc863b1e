package org.ddmapper.console;

import org.apache.felix.service.command.Descriptor;
import org.ddmapper.api.DeviceManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Devices: create, remove, remove_all, rename, suspend, resume, info, ls, deps, mknodes, wait —
 * dmsetup's verbs with ddsetup's words and output (each runs the same command line ddsetup does).
 */
@Component(service = DeviceCommands.class, property = {"osgi.command.scope=dm",
        "osgi.command.function=create", "osgi.command.function=remove", "osgi.command.function=remove_all",
        "osgi.command.function=rename", "osgi.command.function=suspend", "osgi.command.function=resume",
        "osgi.command.function=info", "osgi.command.function=ls", "osgi.command.function=deps",
        "osgi.command.function=mknodes", "osgi.command.function=wait"})
public final class DeviceCommands {
    @Reference
    private DeviceManager manager;

    @Descriptor("create a device: NAME [--table LINE]... | NAME FILE | --notable NAME; with a table it is loaded and resumed")
    public void create(@Descriptor("NAME and the table: --table LINE (repeatable), a table FILE, or --notable") String... args) {
        Console.run(manager, "create", args);
    }

    @Descriptor("remove devices: [-f|--force] NAME...; --force removes a device even while open, failing held I/O")
    public void remove(@Descriptor("[-f|--force] NAME...") String... args) {
        Console.run(manager, "remove", args);
    }

    @Descriptor("remove every device: [-f|--force]")
    public void remove_all(@Descriptor("[-f|--force]") String... args) {
        Console.run(manager, "remove_all", args);
    }

    @Descriptor("rename a device: OLD NEW")
    public void rename(@Descriptor("OLD NEW") String... args) {
        Console.run(manager, "rename", args);
    }

    @Descriptor("suspend devices: [--noflush] [--nolockfs] NAME...; new I/O waits, in-flight I/O drains (--noflush keeps what a target queued)")
    public void suspend(@Descriptor("[--noflush] [--nolockfs] NAME...") String... args) {
        Console.run(manager, "suspend", args);
    }

    @Descriptor("resume devices, swapping in a loaded table: NAME...")
    public void resume(@Descriptor("NAME...") String... args) {
        Console.run(manager, "resume", args);
    }

    @Descriptor("show devices' state: [NAME...], or the column report: -c [-o FIELDS] [--sort FIELDS] [--noheadings] [--separator SEP] [NAME...]")
    public void info(@Descriptor("[-c [-o FIELDS] [--sort FIELDS] [--noheadings] [--separator SEP]] [NAME...]") String... args) {
        Console.run(manager, "info", args);
    }

    @Descriptor("list devices: [--target TYPE] [--tree]")
    public void ls(@Descriptor("[--target TYPE] [--tree]") String... args) {
        Console.run(manager, "ls", args);
    }

    @Descriptor("list the devices the live tables use: [NAME...]")
    public void deps(@Descriptor("[NAME...]") String... args) {
        Console.run(manager, "deps", args);
    }

    @Descriptor("accepted as dmsetup accepts it; does nothing (ddmapper makes no device nodes)")
    public void mknodes(@Descriptor("[NAME...]") String... args) {
        Console.run(manager, "mknodes", args);
    }

    @Descriptor("wait until a device raises an event (its event number passes 0)")
    public void wait(@Descriptor("device name") String name) throws InterruptedException {
        Console.waitEvent(manager, Console.device(name), 0);
    }

    @Descriptor("wait until a device's event number passes EVENT_NR")
    public void wait(@Descriptor("device name") String name, @Descriptor("event number") long eventNr) throws InterruptedException {
        Console.waitEvent(manager, Console.device(name), eventNr);
    }
}
