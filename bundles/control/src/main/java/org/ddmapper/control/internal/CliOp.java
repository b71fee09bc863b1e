package org.ddmapper.control.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.cli.Cli;
import org.ddmapper.api.cli.Command;
import org.ddmapper.api.cli.CommandLine;
import org.ddmapper.api.cli.UsageException;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;

/**
 * ddlink's CLI op: a whole dmsetup command line run here, so that a client as small as the
 * native {@code ddsetup} only sends its argv and prints the reply. The line is parsed and run by
 * {@link Cli} (the one renderer of ddsetup's text) against the device manager, read-only for a
 * read-only peer. A command that needs its caller — a table in a file or on stdin, descriptors
 * to pass, a wait, events to follow, a jar to upgrade from — is answered EOPNOTSUPP: the caller
 * runs it itself (the native client hands it to the Java ddsetup).
 */
final class CliOp {
    private CliOp() {}

    /** The reply payload: {@code i32 exit | u32 stdout_bytes | stdout | stderr}. */
    static byte[] run(DeviceManager manager, Access access, String peer, String versionText, int flags, PayloadReader p) {
        List<String> argv = new ArrayList<>();
        while (!p.atEnd()) {
            argv.add(p.text("argument " + argv.size()));
            if (!p.separatorConsumed()) throw p.invalid("argument " + (argv.size() - 1) + " does not end with a NUL byte");
        }
        DeviceManager visible = access == Access.FULL ? manager : new ReadOnlyManager(manager, peer);
        Cli cli = new Cli(visible, () -> versionText, "ddsetup");
        Cli.Result result;
        try {
            Command command = CommandLine.parse(argv);
            String why = command.clientSide((flags & Ddlink.FLAG_STDIN_TERMINAL) != 0);
            if (why != null) throw new DmException(Errno.EOPNOTSUPP, Op.CLI + ": " + why + "; the caller runs it itself");
            result = cli.run(command);
        } catch (UsageException e) {
            result = cli.usage(e);
        }
        byte[] out = PayloadWriter.of(result.out());
        return new PayloadWriter().u32(result.exit()).u32(out.length).bytes(out).text(result.err()).toBytes();
    }
}
