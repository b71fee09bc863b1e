package org.ddmapper.api.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.api.text.DeviceTree;
import org.ddmapper.api.text.DmText;
import org.ddmapper.api.text.InfoColumns;
import org.ddmapper.api.text.MirrorText;
import org.ddmapper.api.text.SnapshotText;
import org.ddmapper.api.text.StatsText;

/**
 * Runs a dmsetup command line against a {@link DeviceManager} and returns what to print and the
 * exit status: the one place that decides ddsetup's output, wherever it runs — in the appliance
 * for the native {@code ddsetup} (ddlink's CLI op), in the Java {@code ddsetup}, at the console.
 * As dmsetup does, a verb given several devices works through them in order and stops at the
 * first that fails, keeping what it printed so far; a failure is one line on stderr,
 * {@code PROGRAM: <sentence>: <strerror text>}, and exit status 1 (usage errors too).
 */
public final class Cli {
    private final DeviceManager manager;
    private final Supplier<String> versionText;
    private final String program;

    /** What a command printed, its exit status, and the failure that ended it (null when it succeeded). */
    public record Result(int exit, String out, String err, DmException failure) {}

    /**
     * @param versionText the text of {@code version} (the front end knows which bundles it runs on)
     * @param program     the name errors start with ({@code ddsetup}, or a console command's)
     */
    public Cli(DeviceManager manager, Supplier<String> versionText, String program) {
        this.manager = manager;
        this.versionText = versionText;
        this.program = program;
    }

    /** Parses and runs a command line whose inputs are already here (see {@link Command#clientSide}). */
    public Result run(List<String> argv) {
        Command command;
        try {
            command = CommandLine.parse(argv);
        } catch (UsageException e) {
            return usage(e);
        }
        return run(command);
    }

    /** The result of a command line that did not parse: the reason, then the usage or field list. */
    public Result usage(UsageException e) {
        return new Result(1, "", usageText(program, e), e);
    }

    /** What a command line that did not parse prints on stderr: the sentence and EINVAL's text, then the usage or field list. */
    public static String usageText(String program, UsageException e) {
        return program + ": " + e.getMessage() + ": " + e.errno().description() + "\n" + e.hint();
    }

    /** Runs a parsed command. One that needs its caller's own resources fails with EOPNOTSUPP, naming why. */
    public Result run(Command command) {
        StringBuilder out = new StringBuilder();
        try {
            String local = command.clientSide(true);
            if (local != null) throw new DmException(Errno.EOPNOTSUPP, local + ", which " + program + " cannot reach here");
            execute(command, out);
            return new Result(0, out.toString(), "", null);
        } catch (DmException e) {
            return new Result(1, out.toString(), error(e), e);
        }
    }

    /** The stderr line of a failure. */
    public String error(DmException e) { return errorLine(program, e); }

    /** The stderr line of a failure: {@code PROGRAM: <sentence>: <the errno's text, as the C library words it>}. */
    public static String errorLine(String program, DmException e) {
        if (e instanceof UsageException u) return usageText(program, u);
        String sentence = e.getMessage() == null ? e.errno().name() : e.getMessage();
        return program + ": " + sentence + ": " + e.errno().description() + "\n";
    }

    private void execute(Command command, StringBuilder out) {
        if (command instanceof Command.Create c) {
            manager.create(c.name(), c.table() instanceof Command.TableSource.Given g ? g.text() : "");
        } else if (command instanceof Command.Load l) {
            String table = ((Command.TableSource.Given) l.table()).text();
            if (table.isBlank()) throw new DmException(Errno.EINVAL, "load " + l.name() + ": the table is empty");
            manager.load(DeviceRef.of(l.name()), table);
        } else if (command instanceof Command.Clear c) {
            manager.clear(DeviceRef.of(c.name()));
        } else if (command instanceof Command.Suspend s) {
            for (String n : s.names()) manager.suspend(DeviceRef.of(n), s.noflush());
        } else if (command instanceof Command.Resume r) {
            for (String n : r.names()) manager.resume(DeviceRef.of(n));
        } else if (command instanceof Command.Remove r) {
            for (String n : r.names()) remove(DeviceRef.of(n), r.force());
        } else if (command instanceof Command.RemoveAll r) {
            removeAll(r.force());
        } else if (command instanceof Command.Rename r) {
            manager.rename(DeviceRef.of(r.name()), r.newName());
        } else if (command instanceof Command.Message m) {
            Message message = new Message(m.words(), null, List.of(), 0);
            out.append(DmText.messageReply(manager.message(DeviceRef.of(m.name()), m.target(), message)));
        } else if (command instanceof Command.Status s) {
            lines(s.names(), s.targetType(), out, ref -> manager.status(ref, s.inactive()));
        } else if (command instanceof Command.Table t) {
            lines(t.names(), t.targetType(), out, ref -> manager.table(ref, t.inactive()));
        } else if (command instanceof Command.Info i) {
            info(i, out);
        } else if (command instanceof Command.Ls l) {
            out.append(l.targetType() != null ? DmText.ls(manager, l.targetType()) : l.tree() ? DeviceTree.render(manager) : DmText.ls(manager));
        } else if (command instanceof Command.Deps d) {
            if (d.names().isEmpty()) out.append(DmText.deps(manager, null));
            for (String n : d.names()) out.append(prefix(d.names(), n)).append(DmText.deps(manager.deps(DeviceRef.of(n))));
        } else if (command instanceof Command.Targets) {
            out.append(DmText.targets(manager));
        } else if (command instanceof Command.Version) {
            out.append(versionText.get());
        } else if (command instanceof Command.Help h) {
            out.append(h.columns() ? InfoColumns.help() : Usage.TEXT);
        } else if (command instanceof Command.Multipath m) {
            out.append(m.request().render(manager));
        } else if (command instanceof Command.Snapshots s) {
            out.append(SnapshotText.render(manager, s.name() == null ? null : DeviceRef.of(s.name())));
        } else if (command instanceof Command.Mirror m) {
            out.append(MirrorText.render(manager, m.name() == null ? null : DeviceRef.of(m.name())));
        } else if (command instanceof Command.Stats s) {
            if (s.names().isEmpty()) out.append(StatsText.render(manager, null));
            for (String n : s.names()) out.append(StatsText.render(manager, DeviceRef.of(n)));
        } else if (!(command instanceof Command.Mknodes)) {
            // wait, events, upgrade (--list, --revert): clientSide() is never null for them, so run() refused them already
            throw new IllegalStateException("not runnable here: " + command);
        }
    }

    /**
     * dmsetup's remove: an open device is refused (EBUSY); with force, as dmsetup does it, its
     * live table is first replaced by an {@code error} table of the same size and resumed (what it
     * holds and every new request fail), then the removal is tried again, and still refused while
     * it is open. A device that is not open goes (with force even when it holds I/O, which fails).
     */
    private void remove(DeviceRef ref, boolean force) {
        DeviceInfo d = manager.info(ref);
        if (d.openCount() > 0) {
            String open = "device '" + d.name() + "' is open (" + d.openCount() + (d.openCount() == 1 ? " opener)" : " openers)");
            if (!force) throw new DmException(Errno.EBUSY, open + "; remove --force replaces its table with error, failing its I/O");
            if (d.liveTable()) {
                manager.load(ref, "0 " + d.sizeSectors() + " error");
                manager.resume(ref);
            }
            try {
                manager.remove(ref, false);
                return;
            } catch (DmException e) {
                if (e.errno() != Errno.EBUSY) throw e;
                throw new DmException(Errno.EBUSY, open + ": its table was replaced with error, so its I/O fails; it can go once closed");
            }
        }
        manager.remove(ref, force);
    }

    /** remove_all: every device, by name; a device that cannot go is reported and the others still go. */
    private void removeAll(boolean force) {
        DmException first = null;
        int failed = 0;
        for (DeviceInfo d : DmText.byName(manager.list())) {
            try {
                remove(DeviceRef.id(d.id()), force);
            } catch (DmException e) {
                if (e.errno() == Errno.ENXIO) continue;
                failed++;
                if (first == null) first = e;
            }
        }
        if (first != null)
            throw new DmException(first.errno(), first.getMessage() + (failed > 1 ? " (and " + (failed - 1) + " more devices were not removed)" : ""));
    }

    /** status/table: one device plain, several (or every one) with {@code NAME: } before each line. */
    private void lines(List<String> names, String targetType, StringBuilder out, Function<DeviceRef, List<TargetStatus>> of) {
        if (!names.isEmpty()) {
            for (String n : names) out.append(DmText.targetLines(of.apply(DeviceRef.of(n)), prefix(names, n), targetType));
            return;
        }
        List<DeviceInfo> devices = DmText.byName(manager.list());
        if (devices.isEmpty()) {
            out.append(DmText.NO_DEVICES);
            return;
        }
        for (DeviceInfo d : devices) {
            List<TargetStatus> lines;
            try {
                lines = of.apply(DeviceRef.id(d.id()));
            } catch (DmException e) {
                if (e.errno() == Errno.ENXIO) continue;
                throw e;
            }
            out.append(DmText.targetLines(lines, d.name() + ": ", targetType));
        }
    }

    private void info(Command.Info i, StringBuilder out) {
        if (i.names().isEmpty()) {
            List<DeviceInfo> all = DmText.byName(manager.list());
            if (all.isEmpty()) out.append(DmText.NO_DEVICES);
            else if (i.columns() != null) out.append(InfoColumns.render(manager, all, i.columns()));
            else for (DeviceInfo d : all) out.append(DmText.info(d));
            return;
        }
        List<DeviceInfo> found = new ArrayList<>();
        try {
            for (String n : i.names()) {
                DeviceInfo d = manager.info(DeviceRef.of(n));
                if (i.columns() == null) out.append(DmText.info(d));
                found.add(d);
            }
        } finally {
            if (i.columns() != null && !found.isEmpty()) out.append(InfoColumns.render(manager, found, i.columns()));
        }
    }

    private static String prefix(List<String> names, String name) { return names.size() > 1 ? name + ": " : ""; }

    /**
     * The command with its table read where the caller is: {@code readFile} reads a FILE,
     * {@code readStdin} the caller's stdin (null when there is none); a create with no source
     * from a terminal makes an empty device. Other commands come back unchanged.
     */
    public static Command resolveTable(Command command, Function<String, String> readFile,
                                       Supplier<String> readStdin, boolean stdinIsTerminal) {
        if (command instanceof Command.Create c) return new Command.Create(c.name(), resolve(c.table(), readFile, readStdin, stdinIsTerminal, true));
        if (command instanceof Command.Load l) return new Command.Load(l.name(), resolve(l.table(), readFile, readStdin, stdinIsTerminal, false));
        return command;
    }

    private static Command.TableSource resolve(Command.TableSource source, Function<String, String> readFile,
                                               Supplier<String> readStdin, boolean terminal, boolean create) {
        if (source instanceof Command.TableSource.File f) return new Command.TableSource.Given(readFile.apply(f.path()));
        if (source instanceof Command.TableSource.Stdin s) {
            if (create && !s.explicit() && terminal) return new Command.TableSource.None();
            if (readStdin == null) throw new DmException(Errno.EINVAL, "there is no stdin to read the table from here; give --table or a file");
            return new Command.TableSource.Given(readStdin.get());
        }
        return source;
    }
}
