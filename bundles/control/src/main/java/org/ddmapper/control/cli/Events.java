package org.ddmapper.control.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;

/**
 * {@code ddsetup events NAME [--count N]}: the device's remembered events, then each new one as
 * its link delivers it, without duplicates; stops after N events or when the device is removed.
 * The lines are the server's ({@code DeviceEvent.toLine()}).
 */
final class Events {
    private Events() {}

    static void follow(DdlinkClient client, String name, long count, Ddsetup cli) throws IOException {
        try (DdlinkClient link = client.link(name)) {
            long printed = 0;
            long last = 0;
            byte[] history = client.callOk(Op.EVENTS, 0, new PayloadWriter().u64(0).text(name).toBytes());
            for (String line : new String(history, StandardCharsets.UTF_8).split("\n")) {
                if (line.isEmpty() || (count >= 0 && printed >= count)) continue;
                cli.print(line + "\n");
                printed++;
                last = Math.max(last, eventNr(line));
            }
            while (count < 0 || printed < count) {
                Item item = link.next(true);
                if (item.op() == Op.EVENTS_LOST.code()) {
                    cli.warn(Ddsetup.PROGRAM + ": " + new PayloadReader(Op.EVENTS_LOST, item.payload()).u64("count") + " events lost\n");
                    continue;
                }
                if (item.op() != Op.EVENT.code()) continue;
                PayloadReader p = new PayloadReader(Op.EVENT, item.payload());
                long nr = p.u64("event number");
                if (nr <= last) continue;
                String line = p.tail(Ddlink.EVENT_HEADER_BYTES - 8);
                cli.print(line + "\n");
                printed++;
                last = nr;
                String[] words = line.split(" ");
                if (words.length > 2 && words[2].equals("removed")) return;
            }
        }
    }

    private static long eventNr(String line) {
        String[] w = line.split(" ");
        try {
            return w.length > 1 ? Long.parseLong(w[1]) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
