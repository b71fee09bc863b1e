package org.ddmapper.control.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.text.MultipathText;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.StreamSockets;

/**
 * {@code ddsetup}: dmsetup's verbs over the ddlink control socket. Text verbs print what the
 * server rendered (the same text the console prints); failures print one line on stderr and
 * exit 1 (2 for a usage error). Plain Java: no OSGi or logging classes, so it starts fast on a
 * class path of the control, api and JNA jars.
 */
public final class Ddsetup {
    static final String USAGE = """
            usage: ddsetup [--socket PATH] VERB ...
              create NAME [--table LINE... | FILE | - | --notable]   load NAME [--table LINE... | FILE | -]
              suspend [--noflush] NAME                  resume NAME
              clear NAME                                remove [--force] NAME
              rename OLD NEW                            deps NAME
              message NAME SECTOR|@INDEX WORDS... [--pass-fd N | --pass-connect HOST:PORT | --pass-unix PATH]
              status [NAME]    table [--inactive] [NAME]    info [NAME]    ls
              wait NAME [EVENT_NR]    events NAME [--count N]    targets    version
              upgrade SYMBOLIC-NAME JAR                 (live upgrade of a target or checker bundle)
              upgrade --list | --revert SYMBOLIC-NAME    (the home's bundle store; undo its newest upgrade of one)
              multipath [-ll | show topology | show paths] [NAME]   (every multipath map, or NAME)
              snapshots [NAME]                          (every snapshot as lvs shows it, or NAME's)
              mirror [NAME]                             (every mirror's legs, sync and log, or NAME's)""";

    private final PrintStream out;
    private final PrintStream err;
    private final Stdin stdin;

    /** Where a table comes from when the command line names none: stdin, unless it is a terminal (create only). */
    record Stdin(InputStream in, boolean terminal) {
        String read() throws IOException { return new String(in.readAllBytes(), StandardCharsets.UTF_8); }
    }

    Ddsetup(PrintStream out, PrintStream err, Stdin stdin) {
        this.out = out;
        this.err = err;
        this.stdin = stdin;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        int code = new Ddsetup(out, System.err, new Stdin(System.in, Fds.isTerminal(0))).run(args);
        out.flush();
        System.exit(code);
    }

    /** Runs one command; returns the exit code. */
    int run(String[] argv) {
        List<String> args = new ArrayList<>(List.of(argv));
        Path socket = defaultSocket();
        try {
            while (!args.isEmpty() && args.get(0).startsWith("--")) {
                String option = args.remove(0);
                switch (option) {
                    case "--socket" -> socket = Path.of(value(args, "--socket"));
                    case "--help" -> {
                        out.println(USAGE);
                        return 0;
                    }
                    default -> throw new UsageException("unknown option " + option);
                }
            }
            if (args.isEmpty()) throw new UsageException("missing verb");
            String verb = args.remove(0);
            Command command;
            try {
                command = Command.parse(verb, args, stdin);
            } catch (DmException | java.nio.file.InvalidPathException e) {
                // a word of the command line that does not parse (a message target, a path): a usage error
                throw new UsageException(e.getMessage());
            }
            try (DdlinkClient client = DdlinkClient.connect(socket)) {
                command.run(client, this);
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().contains(": connect"))
                    throw new IOException("cannot reach ddmapper at " + socket + " (" + e.getMessage().replaceFirst(".*: connect: ", "")
                            + "); is it running?");
                throw e;
            }
            out.flush();
            return 0;
        } catch (UsageException e) {
            err.println("ddsetup: " + e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (DmException e) {
            out.flush();
            err.println("ddsetup: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            out.flush();
            err.println("ddsetup: " + e.getMessage());
            return 1;
        }
    }

    /** HOME/run/control.sock, HOME from -Dddmapper.home (default var). */
    static Path defaultSocket() {
        String home = System.getProperty("ddmapper.home");
        return Path.of(home == null || home.isBlank() ? "var" : home, "run", "control.sock");
    }

    static String value(List<String> args, String option) throws UsageException {
        if (args.isEmpty()) throw new UsageException(option + " needs a value");
        return args.remove(0);
    }

    void print(String text) {
        out.print(text);
        out.flush();
    }

    /** One parsed command line. */
    private record Command(String verb, Op op, int target, byte[] payload, List<String> rest, Runnable cleanup, int[] fds) {

        static Command parse(String verb, List<String> args, Stdin stdin) throws UsageException, IOException {
            return switch (verb) {
                case "create" -> {
                    boolean notable = flag(args, "--notable");
                    String name = name(args, verb);
                    String table = table(args, notable ? null : stdin, false, verb);
                    PayloadWriter w = new PayloadWriter().text(name);
                    if (table != null && !table.isBlank()) w.nul().text(table);
                    yield simple(verb, Op.CREATE, 0, w.toBytes(), args);
                }
                case "load", "reload" -> {
                    String name = name(args, verb);
                    String table = table(args, stdin, true, verb);
                    yield simple(verb, Op.LOAD, 0, new PayloadWriter().text(name).nul().text(table).toBytes(), args);
                }
                case "suspend" -> {
                    int flags = flag(args, "--noflush") ? Ddlink.FLAG_NOFLUSH : 0;
                    yield simple(verb, Op.SUSPEND, flags, PayloadWriter.of(name(args, verb)), args);
                }
                case "resume" -> simple(verb, Op.RESUME, 0, PayloadWriter.of(name(args, verb)), args);
                case "clear" -> simple(verb, Op.CLEAR, 0, PayloadWriter.of(name(args, verb)), args);
                case "remove" -> {
                    int flags = flag(args, "--force") || flag(args, "-f") ? Ddlink.FLAG_FORCE : 0;
                    yield simple(verb, Op.REMOVE, flags, PayloadWriter.of(name(args, verb)), args);
                }
                case "rename" -> {
                    String old = name(args, verb);
                    String renamed = name(args, verb);
                    yield simple(verb, Op.RENAME, 0, new PayloadWriter().text(old).nul().text(renamed).toBytes(), args);
                }
                case "status" -> simple(verb, Op.STATUS, 0, PayloadWriter.of(optionalName(args)), args);
                case "table" -> {
                    int flags = flag(args, "--inactive") ? Ddlink.FLAG_INACTIVE : 0;
                    yield simple(verb, Op.TABLE, flags, PayloadWriter.of(optionalName(args)), args);
                }
                case "info" -> simple(verb, Op.INFO, 0, PayloadWriter.of(optionalName(args)), args);
                case "ls" -> simple(verb, Op.LIST, 0, new byte[0], args);
                case "deps" -> simple(verb, Op.DEPS, 0, PayloadWriter.of(name(args, verb)), args);
                case "targets" -> simple(verb, Op.TARGETS, 0, new byte[0], args);
                case "version" -> simple(verb, Op.VERSION, 0, new byte[0], args);
                case "wait" -> {
                    String name = name(args, verb);
                    long after = args.isEmpty() ? 0 : number(args.remove(0), "event number");
                    byte[] p = new PayloadWriter().u64(after).u32(Ddlink.WAIT_FOREVER).u32(0).text(name).toBytes();
                    yield simple(verb, Op.WAIT, 0, p, args);
                }
                case "events" -> {
                    String count = option(args, "--count");
                    String name = name(args, verb);
                    if (!args.isEmpty()) throw new UsageException("events: unexpected '" + args.get(0) + "'");
                    List<String> rest = new ArrayList<>();
                    rest.add(name);
                    rest.add(count == null ? "-1" : Long.toString(number(count, "count")));
                    yield new Command(verb, Op.EVENTS, 0, null, rest, () -> { }, new int[0]);
                }
                case "message" -> message(args);
                case "multipath" -> multipath(args);
                case "snapshots" -> simple(verb, Op.SNAPSHOTS, 0, PayloadWriter.of(optionalName(args)), args);
                case "mirror" -> simple(verb, Op.MIRROR, 0, MirrorVerb.payload(args), args);
                case "upgrade" -> {
                    if (!args.isEmpty() && args.get(0).equals("--list")) {
                        args.remove(0);
                        yield simple(verb, Op.UPGRADE_LIST, 0, new byte[0], args);
                    }
                    if (!args.isEmpty() && args.get(0).equals("--revert")) {
                        args.remove(0);
                        if (args.isEmpty()) throw new UsageException("upgrade --revert: missing bundle symbolic name");
                        yield simple(verb, Op.UPGRADE_REVERT, 0, new PayloadWriter().text(args.remove(0)).toBytes(), args);
                    }
                    if (args.isEmpty()) throw new UsageException("upgrade: missing bundle symbolic name");
                    String bundle = args.remove(0);
                    if (args.isEmpty()) throw new UsageException("upgrade: missing jar file");
                    String jar = Path.of(args.remove(0)).toAbsolutePath().normalize().toString();
                    yield simple(verb, Op.UPGRADE, 0, new PayloadWriter().text(bundle).nul().text(jar).toBytes(), args);
                }
                default -> throw new UsageException("unknown verb '" + verb + "'");
            };
        }

        private static Command simple(String verb, Op op, int target, byte[] payload, List<String> args) throws UsageException {
            if (!args.isEmpty()) throw new UsageException(verb + ": unexpected '" + args.get(0) + "'");
            return new Command(verb, op, target, payload, List.of(), () -> { }, new int[0]);
        }

        /** {@code multipath [-ll | show topology | show paths] [NAME]}, parsed as the console parses it. */
        private static Command multipath(List<String> args) throws UsageException {
            MultipathText.Request request;
            try {
                request = MultipathText.parse(args);
            } catch (DmException e) {
                throw new UsageException(e.getMessage());
            }
            args.clear();
            return simple("multipath", Op.MULTIPATH, request.paths() ? Ddlink.FLAG_PATHS : 0,
                    PayloadWriter.of(request.name() == null ? "" : request.name()), args);
        }

        private static Command message(List<String> args) throws UsageException, IOException {
            String passFd = option(args, "--pass-fd");
            String passConnect = option(args, "--pass-connect");
            String passUnix = option(args, "--pass-unix");
            int given = (passFd == null ? 0 : 1) + (passConnect == null ? 0 : 1) + (passUnix == null ? 0 : 1);
            if (given > 1) throw new UsageException("message: give at most one of --pass-fd, --pass-connect, --pass-unix");
            String name = name(args, "message");
            if (args.isEmpty()) throw new UsageException("message: missing SECTOR or @INDEX");
            TargetRef target = TargetRef.parse(args.remove(0));
            if (args.isEmpty()) throw new UsageException("message: missing message words");
            String text = String.join(" ", args);
            args.clear();
            int targetField;
            long sector;
            if (target instanceof TargetRef.ByIndex byIndex) {
                targetField = byIndex.index();
                sector = 0;
            } else {
                targetField = Ddlink.TARGET_BY_SECTOR;
                sector = ((TargetRef.BySector) target).sector();
            }
            int[] fds = new int[0];
            boolean owned = false;
            if (passFd != null) {
                fds = new int[] {(int) number(passFd, "descriptor")};
            } else if (passConnect != null) {
                int colon = passConnect.lastIndexOf(':');
                if (colon <= 0) throw new UsageException("--pass-connect needs HOST:PORT");
                String host = passConnect.substring(0, colon).replaceAll("^\\[|\\]$", "");
                fds = new int[] {StreamSockets.connectTcp(host, (int) number(passConnect.substring(colon + 1), "port"))};
                owned = true;
            } else if (passUnix != null) {
                fds = new int[] {StreamSockets.connectUnix(Path.of(passUnix))};
                owned = true;
            }
            int[] toClose = owned ? fds : new int[0];
            byte[] payload = new PayloadWriter().u64(sector).text(name).nul().text(text).toBytes();
            return new Command("message", Op.MESSAGE, targetField, payload, List.of(), () -> {
                for (int fd : toClose) Fds.close(fd);
            }, fds);
        }

        void run(DdlinkClient client, Ddsetup cli) throws IOException {
            try {
                if (op == Op.EVENTS) {
                    events(client, cli, rest.get(0), Long.parseLong(rest.get(1)));
                    return;
                }
                Item reply = DdlinkClient.ok(client.call(op, target, payload, fds));
                switch (op) {
                    case VERSION -> cli.print(new PayloadReader(op, reply.payload()).tail(Ddlink.VERSION_HEADER_BYTES));
                    case WAIT, CREATE, LOAD, CLEAR, SUSPEND, RESUME, REMOVE, RENAME -> { }
                    case MESSAGE -> {
                        String text = reply.text();
                        if (!text.isEmpty()) cli.print(text.endsWith("\n") ? text : text + "\n");
                    }
                    default -> cli.print(reply.text());
                }
            } finally {
                cleanup.run();
            }
        }

        /** History first, then the link's events as they come, without duplicates; stops after count (if >= 0) or the device's removal. */
        private static void events(DdlinkClient client, Ddsetup cli, String name, long count) throws IOException {
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
                        cli.err.println("ddsetup: " + new PayloadReader(Op.EVENTS_LOST, item.payload()).u64("count") + " events lost");
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
                    if (line.split(" ").length > 2 && line.split(" ")[2].equals("removed")) return;
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

        private static String name(List<String> args, String verb) throws UsageException {
            for (int i = 0; i < args.size(); i++) {
                if (!args.get(i).startsWith("--") || args.get(i).equals("-")) return args.remove(i);
            }
            throw new UsageException(verb + ": missing device name");
        }

        private static String optionalName(List<String> args) {
            return args.isEmpty() ? "" : args.remove(0);
        }

        private static boolean flag(List<String> args, String flag) {
            return args.remove(flag);
        }

        /** Removes {@code --option VALUE} from anywhere in args; null when absent. */
        private static String option(List<String> args, String option) throws UsageException {
            int at = args.indexOf(option);
            if (at < 0) return null;
            args.remove(at);
            if (at >= args.size()) throw new UsageException(option + " needs a value");
            return args.remove(at);
        }

        /**
         * The table from --table LINE (repeatable), a FILE, or - (stdin). With none of these, like
         * dmsetup, stdin: always when {@code required} (load), else (create) unless stdin is a
         * terminal; then null, an empty device. {@code stdin} null is create's --notable: no source allowed.
         */
        private static String table(List<String> args, Stdin stdin, boolean required, String verb) throws UsageException, IOException {
            List<String> lines = new ArrayList<>();
            String line;
            while ((line = option(args, "--table")) != null) lines.add(line);
            if (stdin == null) {
                if (!lines.isEmpty() || !args.isEmpty()) throw new UsageException(verb + ": --notable takes no table");
                return null;
            }
            if (!lines.isEmpty()) return String.join("\n", lines);
            if (args.isEmpty()) {
                if (!required && stdin.terminal()) return null;
                return stdin.read();
            }
            String source = args.remove(0);
            if (source.equals("-")) return stdin.read();
            try {
                return Files.readString(Path.of(source));
            } catch (IOException e) {
                throw new IOException("cannot read table file " + source + ": " + e.getMessage());
            }
        }

        private static long number(String word, String what) throws UsageException {
            if (!word.matches("[0-9]{1,18}")) throw new UsageException("invalid " + what + " '" + word + "'");
            return Long.parseLong(word);
        }
    }

    /** A command line that does not parse. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) { super(message); }
    }
}
