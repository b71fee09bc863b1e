package org.ddmapper.control.cli;

import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.text.MirrorText;
import org.ddmapper.control.ddlink.PayloadWriter;

/**
 * {@code ddsetup mirror [NAME]}: the MIRROR request, whose reply is the mirror view the console's
 * {@code dm:mirror} prints too ({@link MirrorText}): every mirror's legs and their states, how much
 * is in sync, and the log.
 */
final class MirrorVerb {
    private MirrorVerb() {}

    /** The request payload (the device name, empty for every mirror); consumes the words. */
    static byte[] payload(List<String> args) throws Ddsetup.UsageException {
        String name = args.isEmpty() ? "" : args.get(0);
        try {
            MirrorText.parse(args);
        } catch (DmException e) {
            throw new Ddsetup.UsageException(e.getMessage());
        }
        args.clear();
        return PayloadWriter.of(name);
    }
}
