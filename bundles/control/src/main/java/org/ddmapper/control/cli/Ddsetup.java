package org.ddmapper.control.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.cli.Cli;
import org.ddmapper.api.cli.Command;
import org.ddmapper.api.cli.CommandLine;
import org.ddmapper.api.cli.Usage;
import org.ddmapper.api.cli.UsageException;
import org.ddmapper.api.text.DmText;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.StreamSockets;

/**
 * The Java {@code ddsetup}: dmsetup's command line over the ddlink control socket. It reads what
 * only the caller has — a table file, stdin, descriptors to pass — then sends the command line
 * to the appliance (ddlink's CLI op), which runs it and renders the text
 * ({@link org.ddmapper.api.cli.Cli}, the same code behind the native client and the console),
 * and prints the reply unchanged. {@code wait}, {@code events}, {@code upgrade} (and its
 * {@code --list} and {@code --revert}) and messages with descriptors use their own ops. Plain Java: no OSGi or logging classes, so it runs on a class
 * path of the control, api and JNA jars; the native {@code ddsetup} hands it the commands it
 * cannot run itself.
 */
public final class Ddsetup {
    /** The name errors start with. */
    static final String PROGRAM = "ddsetup";
    private final PrintStream out;
    private final PrintStream err;
    private final Stdin stdin;

    /** The caller's stdin, and whether it is a terminal (create then makes an empty device instead of reading it). */
    record Stdin(InputStream in, boolean terminal) {
        String read() {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    Ddsetup(PrintStream out, PrintStream err, Stdin stdin) {
        this.out = out;
        this.err = err;
        this.stdin = stdin;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), false, StandardCharsets.UTF_8);
        int code = new Ddsetup(out, err, new Stdin(System.in, Fds.isTerminal(0))).run(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line in this JVM with an empty stdin that is no terminal (as under a script's {@code </dev/null}); returns the exit status. */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        return new Ddsetup(out, err, new Stdin(InputStream.nullInputStream(), false)).run(argv);
    }

    /** Runs one command line; returns the exit status (0, or 1 on any failure, as dmsetup). */
    int run(String[] argv) {
        List<String> args = new ArrayList<>(List.of(argv));
        Path socket = defaultSocket();
        try {
            if (!args.isEmpty() && (args.get(0).equals("--socket") || args.get(0).startsWith("--socket="))) {
                String option = args.remove(0);
                if (option.contains("=")) {
                    socket = Path.of(option.substring(option.indexOf('=') + 1));
                } else {
                    if (args.isEmpty()) throw new UsageException("--socket needs a value");
                    socket = Path.of(args.remove(0));
                }
            }
            Command command = CommandLine.parse(args);
            if (command instanceof Command.Help h && !h.columns()) {
                print(Usage.TEXT);
                return 0;
            }
            command = Cli.resolveTable(command, Ddsetup::readTableFile, stdin::read, stdin.terminal());
            try (DdlinkClient client = DdlinkClient.connect(socket)) {
                return send(client, command);
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().contains(": connect"))
                    throw new IOException("cannot reach ddmapper at " + socket + " (" + e.getMessage().replaceFirst(".*: connect: ", "")
                            + "); is it running?");
                throw e;
            }
        } catch (UsageException e) {
            return fail(Cli.usageText(PROGRAM, e));
        } catch (java.nio.file.InvalidPathException e) {
            return fail(PROGRAM + ": invalid path: " + e.getMessage() + "\n");
        } catch (DmException e) {
            return fail(Cli.errorLine(PROGRAM, e));
        } catch (IOException | UncheckedIOException e) {
            return fail(PROGRAM + ": " + e.getMessage() + "\n");
        }
    }

    private int fail(String text) {
        out.flush();
        err.print(text);
        err.flush();
        return 1;
    }

    /** Runs the command over the socket; returns the exit status. */
    private int send(DdlinkClient client, Command command) throws IOException {
        if (command instanceof Command.Wait w) return waitFor(client, w);
        if (command instanceof Command.Events e) {
            Events.follow(client, e.name(), e.count(), this);
            return 0;
        }
        if (command instanceof Command.Upgrade u) {
            String jar = Path.of(u.jar()).toAbsolutePath().normalize().toString();
            print(text(client.callOk(Op.UPGRADE, 0, new PayloadWriter().text(u.bundle()).nul().text(jar).toBytes())));
            return 0;
        }
        if (command instanceof Command.UpgradeList) {
            print(text(client.callOk(Op.UPGRADE_LIST, 0, new byte[0])));
            return 0;
        }
        if (command instanceof Command.UpgradeRevert r) {
            print(text(client.callOk(Op.UPGRADE_REVERT, 0, PayloadWriter.of(r.bundle()))));
            return 0;
        }
        if (command instanceof Command.Message m && m.pass() != null) return Messages.withDescriptor(client, m, this);
        byte[] payload = argv(command.toArgs());
        Item reply = DdlinkClient.ok(client.call(Op.CLI, stdin.terminal() ? Ddlink.FLAG_STDIN_TERMINAL : 0, payload));
        PayloadReader p = new PayloadReader(Op.CLI, reply.payload());
        int exit = p.u32("exit status");
        int outBytes = p.u32("stdout length");
        byte[] rest = p.rest();
        if (outBytes < 0 || outBytes > rest.length) throw new IOException("malformed CLI reply: stdout of " + outBytes + " bytes");
        out.write(rest, 0, outBytes);
        out.flush();
        err.write(rest, outBytes, rest.length - outBytes);
        err.flush();
        return exit;
    }

    /** {@code wait [-v] NAME [EVENT_NR]}: WAIT without limit; with -v the device's info afterwards. */
    private int waitFor(DdlinkClient client, Command.Wait w) throws IOException {
        byte[] p = new PayloadWriter().u64(w.eventNr()).u32(Ddlink.WAIT_FOREVER).u32(0).text(w.name()).toBytes();
        client.callOk(Op.WAIT, 0, p);
        if (w.verbose()) print(text(client.callOk(Op.INFO, 0, PayloadWriter.of(w.name()))));
        return 0;
    }

    /** The command line as a CLI payload: every argument followed by a NUL byte. */
    static byte[] argv(List<String> args) {
        PayloadWriter w = new PayloadWriter();
        for (String a : args) w.text(a).nul();
        return w.toBytes();
    }

    static String text(byte[] payload) { return new String(payload, StandardCharsets.UTF_8); }

    private static String readTableFile(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new DmException(e instanceof java.nio.file.NoSuchFileException ? Errno.ENOENT : Errno.EIO,
                    "cannot read table file " + file + " (" + e.getMessage() + ")");
        }
    }

    /** HOME/run/control.sock, HOME from -Dddmapper.home (default var). */
    static Path defaultSocket() {
        String home = System.getProperty("ddmapper.home");
        return Path.of(home == null || home.isBlank() ? "var" : home, "run", "control.sock");
    }

    void print(String text) {
        out.print(text);
        out.flush();
    }

    void warn(String text) {
        err.print(text);
        err.flush();
    }

    /** {@code message ... --pass-*}: the MESSAGE op, with the descriptor; prints the target's answer. */
    static final class Messages {
        private Messages() {}

        static int withDescriptor(DdlinkClient client, Command.Message m, Ddsetup cli) throws IOException {
            int fd;
            boolean owned = true;
            if (m.pass() instanceof Command.Pass.Fd f) {
                fd = f.fd();
                owned = false;
            } else if (m.pass() instanceof Command.Pass.Connect c) {
                int colon = c.hostPort().lastIndexOf(':');
                String host = c.hostPort().substring(0, colon).replaceAll("^\\[|\\]$", "");
                fd = StreamSockets.connectTcp(host, Integer.parseInt(c.hostPort().substring(colon + 1)));
            } else {
                fd = StreamSockets.connectUnix(Path.of(((Command.Pass.Unix) m.pass()).path()));
            }
            try {
                int target;
                long sector;
                if (m.target() instanceof org.ddmapper.api.TargetRef.ByIndex i) {
                    target = i.index();
                    sector = 0;
                } else {
                    target = Ddlink.TARGET_BY_SECTOR;
                    sector = ((org.ddmapper.api.TargetRef.BySector) m.target()).sector();
                }
                byte[] payload = new PayloadWriter().u64(sector).text(m.name()).nul().text(String.join(" ", m.words())).toBytes();
                cli.print(DmText.messageReply(text(client.callOk(Op.MESSAGE, target, payload, fd))));
                return 0;
            } finally {
                if (owned) Fds.close(fd);
            }
        }
    }
}
