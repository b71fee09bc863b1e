package org.ddmapper.console;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/** What every command class shares: printing exactly (no added newline) and parsing a device name. */
final class Console {
    private Console() {}

    /** Prints text as ddsetup does (the text carries its own newlines). */
    static void print(String text) {
        System.out.print(text);
        System.out.flush();
    }

    static DeviceRef device(String name) {
        if (name == null || name.isEmpty()) throw new DmException(Errno.EINVAL, "missing device name");
        return DeviceRef.of(name);
    }

    /**
     * {@code --table LINE} (repeatable, anywhere) and one NAME, as ddsetup takes them: {table, name}.
     * Gogo's own options keep one value each, so commands that take several lines parse them here.
     */
    static String[] tableLinesAndName(String verb, String... args) {
        List<String> lines = new ArrayList<>();
        String name = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--table")) {
                if (i + 1 >= args.length) throw new DmException(Errno.EINVAL, verb + ": --table needs a table line");
                lines.add(args[++i]);
            } else if (name == null) {
                name = args[i];
            } else {
                throw new DmException(Errno.EINVAL, verb + ": unexpected '" + args[i] + "' (usage: " + verb + " [--table LINE]... NAME)");
            }
        }
        if (name == null) throw new DmException(Errno.EINVAL, verb + ": missing device name");
        return new String[] {String.join("\n", lines), name};
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
