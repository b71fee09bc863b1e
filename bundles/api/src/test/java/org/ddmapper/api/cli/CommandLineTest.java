package org.ddmapper.api.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.text.InfoColumns;
import org.ddmapper.api.text.MultipathText;
import org.junit.jupiter.api.Test;

/** dmsetup's command line forms, and the sentence each malformed one gets. */
class CommandLineTest {
    private static Command parse(String... argv) { return CommandLine.parse(argv); }

    private static void refused(String message, String... argv) {
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse(argv), String.join(" ", argv));
        assertEquals(message, e.getMessage(), String.join(" ", argv));
    }

    @Test
    void optionsGoAnywhereAsWithGetopt() {
        assertEquals(new Command.Status(List.of("b", "a"), "zero", false), parse("status", "--target", "zero", "b", "a"));
        assertEquals(new Command.Status(List.of("b", "a"), "zero", true), parse("status", "b", "--inactive", "a", "--target=zero"));
        assertEquals(new Command.Suspend(List.of("x"), true), parse("--noudevsync", "suspend", "x", "--nolockfs", "--noflush"));
        assertEquals(new Command.Remove(List.of("-odd", "b"), true), parse("remove", "-f", "--", "-odd", "b"));
        assertEquals(new Command.Info(List.of(), InfoColumns.Options.parse("name,events", "-name", false, ":")),
                parse("info", "-c", "-oname,events", "-O", "-name", "--noheadings", "--separator", ":"));
        assertEquals(new Command.Info(List.of("a"), InfoColumns.Options.defaults()), parse("-C", "info", "a"));
        assertEquals(new Command.Version(), parse("--version"));
        assertEquals(new Command.Help(true), parse("help", "-c"));
    }

    @Test
    void tablesComeFromOptionsAFileStdinOrNowhere() {
        assertEquals(new Command.Create("a", new Command.TableSource.Given("0 8 zero\n8 8 error")),
                parse("create", "a", "--table", "0 8 zero", "--table", "8 8 error"));
        assertEquals(new Command.Create("a", new Command.TableSource.None()), parse("create", "-n", "a"));
        assertEquals(new Command.Create("a", new Command.TableSource.Stdin(false)), parse("create", "a"));
        assertEquals(new Command.Create("a", new Command.TableSource.Stdin(true)), parse("create", "a", "-"));
        assertEquals(new Command.Load("a", new Command.TableSource.File("t.table")), parse("reload", "a", "t.table"));
        assertEquals(new Command.Create("a", new Command.TableSource.Given("")), parse("create", "a", "--table", ""));
        refused("create: give one table source (--table, --notable, a file or -)", "create", "a", "--table", "0 8 zero", "f");
        refused("load: give one table source (--table, a file or -)", "load", "a", "f", "--table", "x");
        refused("load takes no -n", "load", "a", "-n");
        refused("create: unexpected 'g'", "create", "a", "f", "g");
    }

    @Test
    void messagesKeepTheirWordsWhateverTheyLookLike() {
        assertEquals(new Command.Message("mp", new TargetRef.BySector(0), List.of("fail_path", "-x", "--y"), null),
                parse("message", "mp", "0", "fail_path", "-x", "--y"));
        assertEquals(new Command.Message("mp", new TargetRef.ByIndex(1), List.of("reconnect"), new Command.Pass.Connect("h:10809")),
                parse("message", "mp", "@1", "reconnect", "--pass-connect=h:10809"));
        refused("invalid message target 'x1': expected a sector number or @INDEX", "message", "mp", "x1", "hello");
        refused("message: missing message words", "message", "mp", "0");
        refused("--pass-connect needs HOST:PORT", "message", "mp", "0", "x", "--pass-connect", "host");
        refused("invalid port '70000'", "message", "mp", "0", "x", "--pass-connect", "h:70000");
        refused("message takes no -c", "-c", "message", "mp", "0", "x");
    }

    @Test
    void upgradeTakesAJarOrListsOrRevertsTheBundleStore() {
        assertEquals(new Command.Upgrade("b", "x.jar"), parse("upgrade", "b", "x.jar"));
        assertEquals(new Command.UpgradeList(), parse("upgrade", "--list"));
        assertEquals(new Command.UpgradeRevert("b"), parse("upgrade", "--revert", "b"));
        refused("upgrade: give --list or --revert, not both", "upgrade", "--list", "--revert", "b");
        refused("upgrade: unexpected 'x'", "upgrade", "--list", "x");
        refused("--revert needs a value", "upgrade", "--revert");
    }

    @Test
    void multipathWordsGoToItsOwnParser() {
        assertEquals(new Command.Multipath(new MultipathText.Request(true, "m")), parse("multipath", "show", "paths", "m"));
        assertEquals(new Command.Multipath(new MultipathText.Request(false, null)), parse("multipath", "-ll"));
        refused("multipath show: unknown view 'maps' (expected topology or paths)", "multipath", "show", "maps");
    }

    @Test
    void everyMalformedLineIsNamed() {
        refused("missing verb");
        refused("unknown verb 'frob'", "frob");
        refused("unknown option --frob", "ls", "--frob");
        refused("unknown option -cv (give short options one by one)", "info", "-cv");
        refused("--noflush takes no value", "suspend", "--noflush=1", "a");
        refused("--target needs a value", "ls", "--target");
        refused("--target given more than once", "ls", "--target", "a", "--target", "b");
        refused("ls takes no --inactive", "ls", "--inactive");
        refused("ls: unexpected 'x'", "ls", "x");
        refused("suspend: missing device name", "suspend");
        refused("rename needs OLD and NEW, got 3 words", "rename", "a", "b", "c");
        refused("empty device name", "info", "");
        refused("invalid event number '12x'", "wait", "a", "12x");
        refused("info: -o, --sort, --noheadings and --separator need -c (the column report)", "info", "-o", "name");
        refused("unknown field 'nosuch' (help -c lists the fields)", "info", "-c", "-o", "name,nosuch");
        refused("--sort: 'name_all' is not a single field", "info", "-c", "-O", "name_all");
        refused("-j is not supported: ddmapper's devices have no kernel device numbers", "create", "-j", "253", "a");
        refused("an argument contains a NUL character", "info", "a\0b");
    }

    @Test
    void theCanonicalFormParsesBackToTheSameCommand() {
        for (String[] argv : new String[][] {{"create", "--table", "0 8 zero", "--", "-a"}, {"clear", "--", "-x"}, {"create", "a", "-"}, {"create", "a"},
                {"load", "a", "/t"}, {"info", "-c", "--sort", "-events,name", "--separator", "", "x"}, {"ls", "--tree"},
                {"wait", "-v", "a"}, {"events", "a", "--count", "3"}, {"message", "a", "@2", "x", "--pass-unix", "/s"},
                {"remove_all", "-f"}, {"multipath", "show", "topology"}, {"help"}, {"deps", "--", "-x"}, {"upgrade", "--list"},
                {"upgrade", "--revert", "-b"}}) {
            Command c = CommandLine.parse(argv);
            assertEquals(c, CommandLine.parse(c.toArgs()), String.join(" ", argv) + " -> " + c.toArgs());
        }
    }
}
