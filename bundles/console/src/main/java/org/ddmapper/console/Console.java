package org.ddmapper.console;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.cli.Cli;
import org.ddmapper.api.cli.Command;
import org.ddmapper.api.cli.CommandLine;

/**
 * What every command class shares: running a dmsetup command line through {@link Cli} (the code
 * that renders ddsetup's text, so the console prints the same), printing exactly (no added
 * newline), and waiting for events. A table file is read here, on the appliance's host; there
 * is no stdin to read a table from.
 */
final class Console {
    private Console() {}

    /**
     * Runs {@code VERB ARGS...} as ddsetup would and prints its output; a failure is thrown after
     * what was printed before it (the console shows its sentence).
     */
    static void run(DeviceManager manager, Supplier<String> version, String verb, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(verb);
        argv.addAll(List.of(args));
        Command command = Cli.resolveTable(CommandLine.parse(argv), Console::readTable, null, true);
        Cli.Result result = new Cli(manager, version, "dm:" + verb).run(command);
        print(result.out());
        if (result.failure() != null) throw result.failure();
    }

    static void run(DeviceManager manager, String verb, String... args) {
        run(manager, () -> "", verb, args);
    }

    private static String readTable(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new DmException(Errno.ENOENT, "cannot read table file " + file + " (" + e.getMessage() + ")");
        }
    }

    /** Prints text as ddsetup does (the text carries its own newlines). */
    static void print(String text) {
        System.out.print(text);
        System.out.flush();
    }

    static DeviceRef device(String name) {
        if (name == null || name.isEmpty()) throw new DmException(Errno.EINVAL, "missing device name");
        return DeviceRef.of(name);
    }

    /** Waits until the device's event number passes {@code after}; returns it (interruptible, no limit). */
    static long waitEvent(DeviceManager manager, DeviceRef device, long after) throws InterruptedException {
        while (true) {
            long nr = manager.waitEvent(device, after, 60_000);
            if (nr > after) return nr;
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }
}
