package org.ddmapper.console;

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

    /** Waits until the device's event number passes {@code after}; returns it (interruptible, no limit). */
    static long waitEvent(DeviceManager manager, DeviceRef device, long after) throws InterruptedException {
        while (true) {
            long nr = manager.waitEvent(device, after, 60_000);
            if (nr > after) return nr;
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }
}
