package org.ddmapper.api.cli;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ddmapper.api.DmException;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.text.InfoColumns;
import org.ddmapper.api.text.MultipathText;

/**
 * Parses a dmsetup command line into a {@link Command}. Options go anywhere, before or after the
 * verb, as with dmsetup's getopt ({@code --name=value} and {@code -oVALUE} too); {@code --}
 * ends them. After {@code message} only the {@code --pass-*} options are options (the message
 * may hold any word); after {@code multipath} the words go to {@link MultipathText#parse}. An
 * option dmsetup takes but ddmapper cannot honour is refused with the reason; dmsetup's udev
 * options are accepted and do nothing (ddmapper makes no device nodes). Every error is a
 * {@link UsageException} naming the word that was wrong.
 */
public final class CommandLine {
    /** Longest command line accepted, over all words. */
    public static final int MAX_CHARS = 256 * 1024;

    private CommandLine() {}

    /** The options, each with its spellings and whether it takes a value. */
    enum Opt {
        COLUMNS(false, "-c", "-C", "--columns"), OPTIONS(true, "-o", "--options"), SORT(true, "-O", "--sort"),
        NOHEADINGS(false, "--noheadings"), SEPARATOR(true, "--separator"), TARGET(true, "--target"), TREE(false, "--tree"),
        INACTIVE(false, "--inactive"), NOFLUSH(false, "--noflush"), NOLOCKFS(false, "--nolockfs"), FORCE(false, "-f", "--force"),
        RETRY(false, "--retry"), TABLE(true, "--table"), NOTABLE(false, "-n", "--notable"), VERBOSE(false, "-v", "--verbose"),
        COUNT(true, "--count"), HELP(false, "-h", "--help"), VERSION(false, "--version"),
        LIST(false, "--list"), REVERT(true, "--revert"),
        // dmsetup's udev and bookkeeping options: accepted everywhere, nothing to do here
        NOUDEVSYNC(false, "--noudevsync"), NOUDEVRULES(false, "--noudevrules"), VERIFYUDEV(false, "--verifyudev"),
        UDEVCOOKIE(true, "--udevcookie"), NOOPENCOUNT(false, "--noopencount"), YES(false, "-y", "--yes");

        final boolean value;
        final List<String> spellings;

        Opt(boolean value, String... spellings) {
            this.value = value;
            this.spellings = List.of(spellings);
        }

        static Opt of(String spelling) {
            for (Opt o : values()) if (o.spellings.contains(spelling)) return o;
            return null;
        }
    }

    private static final Set<Opt> ANYWHERE = EnumSet.of(Opt.NOUDEVSYNC, Opt.NOUDEVRULES, Opt.VERIFYUDEV, Opt.UDEVCOOKIE,
            Opt.NOOPENCOUNT, Opt.YES, Opt.HELP);

    /** dmsetup options ddmapper refuses, and why. */
    private static final Map<String, String> REFUSED = Map.ofEntries(
            Map.entry("-u", "ddmapper's devices have no UUID"), Map.entry("--uuid", "ddmapper's devices have no UUID"),
            Map.entry("--setuuid", "ddmapper's devices have no UUID"),
            Map.entry("-j", "ddmapper's devices have no kernel device numbers"), Map.entry("--major", "ddmapper's devices have no kernel device numbers"),
            Map.entry("-m", "ddmapper's devices have no kernel device numbers"), Map.entry("--minor", "ddmapper's devices have no kernel device numbers"),
            Map.entry("-r", "read-only devices are not supported"), Map.entry("--readonly", "read-only devices are not supported"),
            Map.entry("--deferred", "deferred removal is not supported"), Map.entry("-S", "selection is not supported"),
            Map.entry("--select", "selection is not supported"), Map.entry("--rows", "the report has no row form"),
            Map.entry("--nameprefixes", "the report has no name prefixes"), Map.entry("--concise", "concise tables are not supported"),
            Map.entry("--readahead", "read-ahead is fixed at 256 sectors"), Map.entry("--exec", "ls --exec is not supported"),
            Map.entry("--showkeys", "no target keeps keys"), Map.entry("--manglename", "names are never mangled"));

    /** What one verb accepts beyond the options that go anywhere. */
    private static final Map<String, Set<Opt>> VERBS = Map.ofEntries(
            Map.entry("create", EnumSet.of(Opt.TABLE, Opt.NOTABLE)), Map.entry("load", EnumSet.of(Opt.TABLE)),
            Map.entry("reload", EnumSet.of(Opt.TABLE)), Map.entry("clear", EnumSet.noneOf(Opt.class)),
            Map.entry("suspend", EnumSet.of(Opt.NOFLUSH, Opt.NOLOCKFS)), Map.entry("resume", EnumSet.of(Opt.NOFLUSH, Opt.NOLOCKFS)),
            Map.entry("remove", EnumSet.of(Opt.FORCE, Opt.RETRY)), Map.entry("remove_all", EnumSet.of(Opt.FORCE)),
            Map.entry("rename", EnumSet.noneOf(Opt.class)), Map.entry("status", EnumSet.of(Opt.TARGET, Opt.INACTIVE, Opt.NOFLUSH)),
            Map.entry("table", EnumSet.of(Opt.TARGET, Opt.INACTIVE)),
            Map.entry("info", EnumSet.of(Opt.COLUMNS, Opt.OPTIONS, Opt.SORT, Opt.NOHEADINGS, Opt.SEPARATOR)),
            Map.entry("ls", EnumSet.of(Opt.TARGET, Opt.TREE)), Map.entry("deps", EnumSet.noneOf(Opt.class)),
            Map.entry("targets", EnumSet.noneOf(Opt.class)), Map.entry("version", EnumSet.noneOf(Opt.class)),
            Map.entry("mknodes", EnumSet.noneOf(Opt.class)), Map.entry("help", EnumSet.of(Opt.COLUMNS)),
            Map.entry("wait", EnumSet.of(Opt.VERBOSE, Opt.NOFLUSH)), Map.entry("events", EnumSet.of(Opt.COUNT)),
            Map.entry("upgrade", EnumSet.of(Opt.LIST, Opt.REVERT)),
            Map.entry("snapshots", EnumSet.noneOf(Opt.class)), Map.entry("mirror", EnumSet.noneOf(Opt.class)),
            Map.entry("stats", EnumSet.noneOf(Opt.class)));

    /** The options and words of a command line, options taken out wherever they stood. */
    private static final class Words {
        final Map<Opt, List<String>> options = new EnumMap<>(Opt.class);
        /** How the user spelled each option (the first time), for error sentences. */
        final Map<Opt, String> spelled = new EnumMap<>(Opt.class);
        final List<String> positional = new ArrayList<>();

        boolean has(Opt o) { return options.containsKey(o); }

        /** The option's value; given twice is an error (dmsetup would take the last, silently). */
        String value(Opt o) {
            List<String> v = options.get(o);
            if (v == null) return null;
            if (v.size() > 1) throw new UsageException(spelled.get(o) + " given more than once");
            return v.get(0);
        }
    }

    public static Command parse(String... argv) { return parse(List.of(argv)); }

    /** Parses one command line (without the program name). */
    public static Command parse(List<String> argv) {
        long chars = 0;
        for (String a : argv) {
            if (a == null) throw new UsageException("null argument");
            if (a.indexOf('\0') >= 0) throw new UsageException("an argument contains a NUL character");
            chars += a.length();
        }
        if (chars > MAX_CHARS) throw new UsageException("the command line is longer than " + MAX_CHARS + " characters");
        Words w = new Words();
        String verb = null;
        int i = 0;
        boolean endOfOptions = false;
        for (; i < argv.size(); i++) {
            String a = argv.get(i);
            if (!endOfOptions && a.equals("--")) {
                endOfOptions = true;
            } else if (!endOfOptions && isOption(a)) {
                i = option(argv, i, w);
            } else if (verb == null) {
                verb = a;
                if (verb.equals("message") || verb.equals("multipath")) break;
            } else {
                w.positional.add(a);
            }
        }
        if (verb == null) {
            if (w.has(Opt.VERSION)) return new Command.Version();
            if (w.has(Opt.HELP)) return new Command.Help(w.has(Opt.COLUMNS));
            throw new UsageException("missing verb");
        }
        if (verb.equals("message")) return message(argv.subList(i + 1, argv.size()), w);
        if (verb.equals("multipath")) return multipath(argv.subList(i + 1, argv.size()), w);
        Set<Opt> allowed = VERBS.get(verb);
        if (allowed == null) throw new UsageException("unknown verb '" + verb + "'");
        if (w.has(Opt.HELP)) return new Command.Help(false);
        for (Opt o : w.options.keySet()) {
            if (!allowed.contains(o) && !ANYWHERE.contains(o))
                throw new UsageException(verb + " takes no " + w.spelled.get(o));
        }
        return verb(verb, w);
    }

    private static boolean isOption(String a) { return a.length() > 1 && a.startsWith("-"); }

    /** Reads the option at argv[i] (and its value); returns the index of its last word. */
    private static int option(List<String> argv, int i, Words w) {
        String a = argv.get(i);
        String name = a;
        String value = null;
        if (a.startsWith("--") && a.indexOf('=') > 0) {
            name = a.substring(0, a.indexOf('='));
            value = a.substring(a.indexOf('=') + 1);
        } else if (!a.startsWith("--") && a.length() > 2) {
            name = a.substring(0, 2);
            value = a.substring(2);
        }
        if (REFUSED.containsKey(name)) throw new UsageException(name + " is not supported: " + REFUSED.get(name));
        Opt o = Opt.of(name);
        if (o == null) throw new UsageException("unknown option " + a);
        if (!o.value && value != null) {
            if (!name.startsWith("--")) throw new UsageException("unknown option " + a + " (give short options one by one)");
            throw new UsageException(name + " takes no value");
        }
        if (o.value && value == null) {
            if (i + 1 >= argv.size()) throw new UsageException(name + " needs a value");
            value = argv.get(++i);
        }
        w.options.computeIfAbsent(o, k -> new ArrayList<>());
        w.spelled.putIfAbsent(o, name);
        if (value != null) w.options.get(o).add(value);
        return i;
    }

    private static Command verb(String verb, Words w) {
        List<String> p = w.positional;
        return switch (verb) {
            case "create" -> {
                String name = name(p, verb);
                yield new Command.Create(name, table(verb, w, p, true));
            }
            case "load", "reload" -> {
                String name = name(p, verb);
                yield new Command.Load(name, table(verb, w, p, false));
            }
            case "clear" -> new Command.Clear(only(p, verb));
            case "suspend" -> new Command.Suspend(names(p, verb), w.has(Opt.NOFLUSH));
            case "resume" -> new Command.Resume(names(p, verb));
            case "remove" -> new Command.Remove(names(p, verb), w.has(Opt.FORCE));
            case "remove_all" -> {
                none(p, verb);
                yield new Command.RemoveAll(w.has(Opt.FORCE));
            }
            case "rename" -> {
                if (p.size() != 2) throw new UsageException("rename needs OLD and NEW, got " + p.size() + " word" + (p.size() == 1 ? "" : "s"));
                yield new Command.Rename(nonEmpty(p.get(0)), nonEmpty(p.get(1)));
            }
            case "status" -> new Command.Status(any(p), target(w), w.has(Opt.INACTIVE));
            case "table" -> new Command.Table(any(p), target(w), w.has(Opt.INACTIVE));
            case "info" -> {
                boolean report = w.has(Opt.COLUMNS);
                if (!report && (w.has(Opt.OPTIONS) || w.has(Opt.SORT) || w.has(Opt.NOHEADINGS) || w.has(Opt.SEPARATOR)))
                    throw new UsageException("info: -o, --sort, --noheadings and --separator need -c (the column report)");
                yield new Command.Info(any(p), report ? columns(w) : null);
            }
            case "ls" -> {
                none(p, verb);
                yield new Command.Ls(target(w), w.has(Opt.TREE));
            }
            case "deps" -> new Command.Deps(any(p));
            case "targets" -> {
                none(p, verb);
                yield new Command.Targets();
            }
            case "version" -> {
                none(p, verb);
                yield new Command.Version();
            }
            case "mknodes" -> new Command.Mknodes(any(p));
            case "help" -> {
                none(p, verb);
                yield new Command.Help(w.has(Opt.COLUMNS));
            }
            case "wait" -> {
                if (p.isEmpty() || p.size() > 2) throw new UsageException("wait needs NAME [EVENT_NR]");
                yield new Command.Wait(nonEmpty(p.get(0)), p.size() == 2 ? number(p.get(1), "event number") : 0, w.has(Opt.VERBOSE));
            }
            case "events" -> {
                String count = w.value(Opt.COUNT);
                yield new Command.Events(only(p, verb), count == null ? -1 : number(count, "count"));
            }
            case "upgrade" -> {
                if (w.has(Opt.LIST) || w.has(Opt.REVERT)) {
                    if (w.has(Opt.LIST) && w.has(Opt.REVERT)) throw new UsageException("upgrade: give --list or --revert, not both");
                    none(p, verb);
                    yield w.has(Opt.LIST) ? new Command.UpgradeList() : new Command.UpgradeRevert(nonEmpty(w.value(Opt.REVERT), "bundle symbolic name"));
                }
                if (p.isEmpty()) throw new UsageException("upgrade: missing bundle symbolic name");
                if (p.size() < 2) throw new UsageException("upgrade: missing jar file");
                if (p.size() > 2) throw new UsageException("upgrade: unexpected '" + p.get(2) + "'");
                yield new Command.Upgrade(nonEmpty(p.get(0), "bundle symbolic name"), nonEmpty(p.get(1), "jar file"));
            }
            case "snapshots" -> new Command.Snapshots(optional(p, verb));
            case "mirror" -> new Command.Mirror(optional(p, verb));
            case "stats" -> new Command.Stats(any(p));
            default -> throw new UsageException("unknown verb '" + verb + "'");
        };
    }

    /** create/load: {@code --table TABLE} (repeatable: lines), {@code --notable} (create), a FILE, {@code -}, or nothing. */
    private static Command.TableSource table(String verb, Words w, List<String> p, boolean create) {
        List<String> given = w.options.get(Opt.TABLE);
        boolean notable = w.has(Opt.NOTABLE);
        String source = p.isEmpty() ? null : p.remove(0);
        if (!p.isEmpty()) throw new UsageException(verb + ": unexpected '" + p.get(0) + "'");
        int sources = (given != null ? 1 : 0) + (notable ? 1 : 0) + (source != null ? 1 : 0);
        if (sources > 1) throw new UsageException(verb + ": give one table source (--table, " + (create ? "--notable, " : "") + "a file or -)");
        if (given != null) return new Command.TableSource.Given(String.join("\n", given));
        if (notable) return new Command.TableSource.None();
        if (source == null) return new Command.TableSource.Stdin(false);
        if (source.equals("-")) return new Command.TableSource.Stdin(true);
        return new Command.TableSource.File(source);
    }

    private static InfoColumns.Options columns(Words w) {
        try {
            return InfoColumns.Options.parse(w.value(Opt.OPTIONS), w.value(Opt.SORT), !w.has(Opt.NOHEADINGS), w.value(Opt.SEPARATOR));
        } catch (UsageException e) {
            throw e;
        } catch (DmException e) {
            throw new UsageException(e.getMessage(), InfoColumns.help());
        }
    }

    private static Command message(List<String> rest, Words before) {
        if (!before.options.isEmpty() && !ANYWHERE.containsAll(before.options.keySet()))
            throw new UsageException("message takes no " + before.spelled.values().iterator().next());
        List<String> words = new ArrayList<>();
        Command.Pass pass = null;
        for (int i = 0; i < rest.size(); i++) {
            String a = rest.get(i);
            String kind = a.startsWith("--pass-") ? a.replaceFirst("=.*", "") : null;
            if (kind == null || !List.of("--pass-fd", "--pass-connect", "--pass-unix").contains(kind)) {
                words.add(a);
                continue;
            }
            String value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : null;
            if (value == null) {
                if (i + 1 >= rest.size()) throw new UsageException(kind + " needs a value");
                value = rest.get(++i);
            }
            if (pass != null) throw new UsageException("message: give at most one of --pass-fd, --pass-connect, --pass-unix");
            pass = switch (kind) {
                case "--pass-fd" -> new Command.Pass.Fd((int) number(value, "descriptor", Integer.MAX_VALUE));
                case "--pass-connect" -> {
                    int colon = value.lastIndexOf(':');
                    if (colon <= 0) throw new UsageException("--pass-connect needs HOST:PORT");
                    number(value.substring(colon + 1), "port", 65535);
                    yield new Command.Pass.Connect(value);
                }
                default -> new Command.Pass.Unix(nonEmpty(value, "--pass-unix path"));
            };
        }
        if (words.isEmpty()) throw new UsageException("message: missing device name");
        String name = nonEmpty(words.remove(0));
        if (words.isEmpty()) throw new UsageException("message: missing SECTOR or @INDEX");
        TargetRef target;
        try {
            target = TargetRef.parse(words.remove(0));
        } catch (DmException e) {
            throw new UsageException(e.getMessage());
        }
        if (words.isEmpty()) throw new UsageException("message: missing message words");
        return new Command.Message(name, target, words, pass);
    }

    private static Command multipath(List<String> rest, Words before) {
        if (!before.options.isEmpty() && !ANYWHERE.containsAll(before.options.keySet()))
            throw new UsageException("multipath takes no " + before.spelled.values().iterator().next());
        try {
            return new Command.Multipath(MultipathText.parse(rest));
        } catch (DmException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static String target(Words w) {
        String t = w.value(Opt.TARGET);
        if (t != null && t.isEmpty()) throw new UsageException("--target needs a target type");
        return t;
    }

    private static String name(List<String> p, String verb) {
        if (p.isEmpty()) throw new UsageException(verb + ": missing device name");
        return nonEmpty(p.remove(0));
    }

    private static String only(List<String> p, String verb) {
        String name = name(p, verb);
        if (!p.isEmpty()) throw new UsageException(verb + ": unexpected '" + p.get(0) + "'");
        return name;
    }

    /** At most one device name; null when none was given. */
    private static String optional(List<String> p, String verb) {
        return p.isEmpty() ? null : only(p, verb);
    }

    private static List<String> names(List<String> p, String verb) {
        if (p.isEmpty()) throw new UsageException(verb + ": missing device name");
        return any(p);
    }

    private static List<String> any(List<String> p) {
        for (String n : p) nonEmpty(n);
        return List.copyOf(p);
    }

    private static void none(List<String> p, String verb) {
        if (!p.isEmpty()) throw new UsageException(verb + ": unexpected '" + p.get(0) + "'");
    }

    private static String nonEmpty(String word) { return nonEmpty(word, "device name"); }

    private static String nonEmpty(String word, String what) {
        if (word.isEmpty()) throw new UsageException("empty " + what);
        return word;
    }

    private static long number(String word, String what) { return number(word, what, 999_999_999_999_999_999L); }

    private static long number(String word, String what, long max) {
        if (!word.matches("[0-9]{1,18}") || Long.parseLong(word) > max) throw new UsageException("invalid " + what + " '" + word + "'");
        return Long.parseLong(word);
    }
}
