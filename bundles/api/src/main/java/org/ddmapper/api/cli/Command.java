package org.ddmapper.api.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.text.InfoColumns;
import org.ddmapper.api.text.MultipathText;

/**
 * One dmsetup command line, parsed ({@link CommandLine#parse}): the verb and what it applies to,
 * with dmsetup's options already checked. {@link #toArgs()} writes the canonical command line back
 * (it parses to an equal command), which is how a client that resolved its local inputs (a table
 * file, stdin) hands the command to the server. Verbs that need the caller's own resources — a
 * file or stdin to read, descriptors to pass, a terminal to follow events on, a blocking wait —
 * say so in {@link #clientSide(boolean)}; every other verb runs wherever a {@code DeviceManager}
 * is ({@link Cli}).
 */
public sealed interface Command {

    /** The canonical command line (verb first). */
    List<String> toArgs();

    /**
     * Why this command cannot run away from its caller (null when it can): it reads a file or
     * stdin, passes descriptors, follows events, or waits. {@code stdinIsTerminal} says whether
     * the caller's stdin is a terminal (create then makes an empty device instead of reading it).
     */
    default String clientSide(boolean stdinIsTerminal) { return null; }

    /** Where a table comes from. */
    sealed interface TableSource {
        /** The table text itself ({@code --table}; several lines joined with newlines). */
        record Given(String text) implements TableSource {
            public Given { Objects.requireNonNull(text); }
        }

        /** A file of the caller's. */
        record File(String path) implements TableSource {}

        /**
         * The caller's stdin: {@code -} ({@code explicit}), or no source at all, which create
         * does not read from a terminal (it makes an empty device there, as dmsetup does).
         */
        record Stdin(boolean explicit) implements TableSource {}

        /** No table: {@code create --notable}, or create with no source from a terminal. */
        record None() implements TableSource {}
    }

    /** A descriptor handed to a message's target. */
    sealed interface Pass {
        /** The caller's own descriptor N. */
        record Fd(int fd) implements Pass {}

        /** A TCP connection the caller opens to HOST:PORT. */
        record Connect(String hostPort) implements Pass {}

        /** A Unix stream connection the caller opens to PATH. */
        record Unix(String path) implements Pass {}
    }

    record Create(String name, TableSource table) implements Command {
        @Override public List<String> toArgs() { return withTable("create", name, table); }

        @Override public String clientSide(boolean stdinIsTerminal) {
            return readsCallerInput(table, stdinIsTerminal);
        }
    }

    /** {@code load} and its alias {@code reload}. */
    record Load(String name, TableSource table) implements Command {
        @Override public List<String> toArgs() { return withTable("load", name, table); }

        @Override public String clientSide(boolean stdinIsTerminal) { return readsCallerInput(table, false); }
    }

    record Clear(String name) implements Command {
        @Override public List<String> toArgs() { return args("clear", List.of(), List.of(name)); }
    }

    record Suspend(List<String> names, boolean noflush) implements Command {
        public Suspend { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("suspend", noflush ? List.of("--noflush") : List.of(), names); }
    }

    record Resume(List<String> names) implements Command {
        public Resume { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("resume", List.of(), names); }
    }

    record Remove(List<String> names, boolean force) implements Command {
        public Remove { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("remove", force ? List.of("--force") : List.of(), names); }
    }

    record RemoveAll(boolean force) implements Command {
        @Override public List<String> toArgs() { return args("remove_all", force ? List.of("--force") : List.of(), List.of()); }
    }

    record Rename(String name, String newName) implements Command {
        @Override public List<String> toArgs() { return args("rename", List.of(), List.of(name, newName)); }
    }

    /** {@code message NAME SECTOR|@INDEX WORDS...}, with at most one descriptor to pass. */
    record Message(String name, TargetRef target, List<String> words, Pass pass) implements Command {
        public Message { words = List.copyOf(words); }

        @Override public List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of("message", name, target.toString()));
            a.addAll(words);
            if (pass instanceof Pass.Fd f) a.addAll(List.of("--pass-fd", Integer.toString(f.fd())));
            if (pass instanceof Pass.Connect c) a.addAll(List.of("--pass-connect", c.hostPort()));
            if (pass instanceof Pass.Unix u) a.addAll(List.of("--pass-unix", u.path()));
            return a;
        }

        @Override public String clientSide(boolean stdinIsTerminal) {
            return pass == null ? null : "message passes a descriptor of the caller's";
        }
    }

    /** {@code status [NAME...] [--target TYPE] [--inactive]}. */
    record Status(List<String> names, String targetType, boolean inactive) implements Command {
        public Status { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("status", listing(targetType, inactive), names); }
    }

    /** {@code table [NAME...] [--target TYPE] [--inactive]}. */
    record Table(List<String> names, String targetType, boolean inactive) implements Command {
        public Table { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("table", listing(targetType, inactive), names); }
    }

    /** {@code info [NAME...]}; with {@code columns} ({@code -c}) the one-line-per-device report. */
    record Info(List<String> names, InfoColumns.Options columns) implements Command {
        public Info { names = List.copyOf(names); }

        @Override public List<String> toArgs() {
            return args("info", columns == null ? List.of() : columns.toArgs(), names);
        }
    }

    /** {@code ls [--target TYPE] [--tree]}. */
    record Ls(String targetType, boolean tree) implements Command {
        @Override public List<String> toArgs() {
            List<String> o = new ArrayList<>();
            if (targetType != null) o.addAll(List.of("--target", targetType));
            if (tree) o.add("--tree");
            return args("ls", o, List.of());
        }
    }

    record Deps(List<String> names) implements Command {
        public Deps { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("deps", List.of(), names); }
    }

    record Targets() implements Command {
        @Override public List<String> toArgs() { return List.of("targets"); }
    }

    record Version() implements Command {
        @Override public List<String> toArgs() { return List.of("version"); }
    }

    /** {@code mknodes [NAME...]}: accepted and does nothing (ddmapper makes no device nodes). */
    record Mknodes(List<String> names) implements Command {
        public Mknodes { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("mknodes", List.of(), names); }
    }

    /** {@code help [-c]}: the usage, or with {@code -c} the fields of {@code info -c}. */
    record Help(boolean columns) implements Command {
        @Override public List<String> toArgs() { return columns ? List.of("help", "-c") : List.of("help"); }
    }

    /** {@code wait [-v] NAME [EVENT_NR]}: blocks until the event number passes EVENT_NR. */
    record Wait(String name, long eventNr, boolean verbose) implements Command {
        @Override public List<String> toArgs() {
            return args("wait", verbose ? List.of("--verbose") : List.of(), List.of(name, Long.toString(eventNr)));
        }

        @Override public String clientSide(boolean stdinIsTerminal) { return "wait blocks until an event"; }
    }

    /** {@code events NAME [--count N]} (ddmapper's): the history, then new events as they come. */
    record Events(String name, long count) implements Command {
        @Override public List<String> toArgs() {
            return args("events", count < 0 ? List.of() : List.of("--count", Long.toString(count)), List.of(name));
        }

        @Override public String clientSide(boolean stdinIsTerminal) { return "events follows a device's events"; }
    }

    /** {@code upgrade SYMBOLIC-NAME JAR} (ddmapper's): the jar path is the caller's, made absolute there. */
    record Upgrade(String bundle, String jar) implements Command {
        @Override public List<String> toArgs() { return args("upgrade", List.of(), List.of(bundle, jar)); }

        @Override public String clientSide(boolean stdinIsTerminal) { return "upgrade names a jar file of the caller's"; }
    }

    /** {@code upgrade --list} (ddmapper's): what the home's bundle store holds. */
    record UpgradeList() implements Command {
        @Override public List<String> toArgs() { return List.of("upgrade", "--list"); }

        @Override public String clientSide(boolean stdinIsTerminal) { return "upgrade --list asks the bundle store"; }
    }

    /** {@code upgrade --revert SYMBOLIC-NAME} (ddmapper's): undo the store's newest upgrade of a bundle, live. */
    record UpgradeRevert(String bundle) implements Command {
        @Override public List<String> toArgs() { return args("upgrade", List.of("--revert", bundle), List.of()); }

        @Override public String clientSide(boolean stdinIsTerminal) { return "upgrade --revert asks the bundle store"; }
    }

    /** {@code multipath [-ll | show topology | show paths] [NAME]} (ddmapper's views across multipath maps). */
    record Multipath(MultipathText.Request request) implements Command {
        @Override public List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of("multipath", "show", request.paths() ? "paths" : "topology"));
            if (request.name() != null) a.add(request.name());
            return a;
        }
    }

    /** {@code snapshots [NAME]} (ddmapper's): every snapshot as {@code lvs} shows it, or NAME's (a snapshot, or an origin's snapshots). */
    record Snapshots(String name) implements Command {
        @Override public List<String> toArgs() { return args("snapshots", List.of(), name == null ? List.of() : List.of(name)); }
    }

    /** {@code mirror [NAME]} (ddmapper's): every mirror's legs, sync and log, or NAME's. */
    record Mirror(String name) implements Command {
        @Override public List<String> toArgs() { return args("mirror", List.of(), name == null ? List.of() : List.of(name)); }
    }

    /** {@code stats [NAME...]} (ddmapper's): the I/O counters and latency histograms of each device and what it uses, or of every device. */
    record Stats(List<String> names) implements Command {
        public Stats { names = List.copyOf(names); }

        @Override public List<String> toArgs() { return args("stats", List.of(), names); }
    }

    /** Whether reading the table needs the caller; an implicit stdin that is a terminal is no table (null). */
    private static String readsCallerInput(TableSource table, boolean skipTerminal) {
        if (table instanceof TableSource.File) return "the table is in a file of the caller's";
        if (table instanceof TableSource.Stdin s && (s.explicit() || !skipTerminal)) return "the table comes from the caller's stdin";
        return null;
    }

    private static List<String> withTable(String verb, String name, TableSource table) {
        List<String> options = new ArrayList<>();
        if (table instanceof TableSource.Given g) options.addAll(List.of("--table", g.text()));
        if (table instanceof TableSource.None) options.add("--notable");
        List<String> words = new ArrayList<>(List.of(name));
        if (table instanceof TableSource.File f) words.add(f.path());
        if (table instanceof TableSource.Stdin s && s.explicit()) words.add("-");
        return args(verb, options, words);
    }

    private static List<String> listing(String targetType, boolean inactive) {
        List<String> o = new ArrayList<>();
        if (targetType != null) o.addAll(List.of("--target", targetType));
        if (inactive) o.add("--inactive");
        return o;
    }

    /** verb, options, then the words, after {@code --} when one of them could read as an option. */
    private static List<String> args(String verb, List<String> options, List<String> words) {
        List<String> a = new ArrayList<>(List.of(verb));
        a.addAll(options);
        if (words.stream().anyMatch(n -> n.length() > 1 && n.startsWith("-"))) a.add("--");
        a.addAll(words);
        return a;
    }
}
