package org.ddmapper.core.internal;

import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.spi.TargetFeature;
import org.tinylog.Logger;

/**
 * Delivers an operator's message to one target of a live table: checks the message (no empty,
 * over-long or control-character text: a newline must not smuggle a second command), finds the
 * target by index or sector, refuses targets whose type does not declare
 * {@link TargetFeature#MESSAGES}, and words every refusal with the device and target it concerns.
 */
final class TargetMessages {
    /** Longest message accepted, in characters over all words. */
    static final int MAX_MESSAGE_CHARS = 64 * 1024;

    private TargetMessages() { }

    /** Sends a {@link #check checked} message to the target of {@code table} that {@code ref} names; returns its reply ("" for none). */
    static String send(Table table, String device, TargetRef ref, Message message) {
        int index = indexOf(table, device, ref);
        String type = table.types[index].name();
        if (!table.types[index].features().contains(TargetFeature.MESSAGES))
            throw new DmException(Errno.EINVAL, "target " + index + " (" + type + ") of device '" + device + "' takes no messages");
        try {
            String reply = table.targets[index].message(message);
            return reply == null ? "" : reply;
        } catch (DmException e) {
            String text = String.valueOf(e.getMessage());
            throw new DmException(e.errno(), text.startsWith(type + ": ") ? text : type + ": " + text);
        } catch (RuntimeException e) {
            Logger.warn(e, "device {}: target {} ({}) failed on message {}", device, index, type, message.verb());
            throw new DmException(Errno.EIO, type + ": message '" + message.verb() + "' failed: " + e);
        }
    }

    private static int indexOf(Table table, String device, TargetRef ref) {
        if (ref instanceof TargetRef.ByIndex bi) {
            if (bi.index() >= table.targets.length)
                throw new DmException(Errno.EINVAL, "device '" + device + "' has no target @" + bi.index()
                        + " (it has " + table.targets.length + ")");
            return bi.index();
        }
        long sector = ((TargetRef.BySector) ref).sector();
        if (sector >= table.sizeSectors)
            throw new DmException(Errno.EINVAL, "sector " + sector + " lies beyond device '" + device + "' (" + table.sizeSectors + " sectors)");
        return table.indexOf(sector);
    }

    /** Refuses empty, over-long and control-character messages. */
    static void check(Message message) {
        if (message.words().isEmpty() || message.verb().isEmpty()) throw new DmException(Errno.EINVAL, "empty message");
        int chars = 0;
        for (String w : message.words()) {
            chars += w.length();
            if (chars > MAX_MESSAGE_CHARS) throw new DmException(Errno.EINVAL, "message longer than " + MAX_MESSAGE_CHARS + " characters");
            for (int i = 0; i < w.length(); i++) {
                char c = w.charAt(i);
                if (Character.isISOControl(c))
                    throw new DmException(Errno.EINVAL, "control character 0x" + Integer.toHexString(c) + " in message");
            }
        }
    }
}
