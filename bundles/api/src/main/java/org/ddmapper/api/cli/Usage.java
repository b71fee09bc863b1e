package org.ddmapper.api.cli;

/** The usage text of {@code ddsetup} (and of the console's {@code dm:} commands, which take the same words). */
public final class Usage {
    private Usage() {}

    public static final String TEXT = """
            usage: ddsetup [--socket PATH] VERB ...
              create NAME [--table TABLE | FILE | - | --notable]     load|reload NAME [--table TABLE | FILE | -]
              suspend [--noflush] [--nolockfs] NAME...               resume NAME...
              clear NAME                     remove [-f|--force] NAME...       remove_all [-f|--force]
              rename OLD NEW                 deps [NAME...]                    mknodes [NAME...]
              message NAME SECTOR|@INDEX WORDS... [--pass-fd N | --pass-connect HOST:PORT | --pass-unix PATH]
              status [NAME...] [--target TYPE] [--inactive]         table [NAME...] [--target TYPE] [--inactive]
              info [NAME...]                 info -c|-C|--columns [-o FIELDS] [-O|--sort FIELDS] [--noheadings] [--separator SEP] [NAME...]
              ls [--target TYPE] [--tree]    targets    version    help [-c]
              wait [-v] NAME [EVENT_NR]      events NAME [--count N]
              upgrade SYMBOLIC-NAME JAR      (live upgrade of a target or checker bundle)
              upgrade --list | --revert SYMBOLIC-NAME   (the home's bundle store; undo its newest upgrade of one)
              multipath [-ll | show topology | show paths] [NAME]   (every multipath map, or NAME)
              snapshots [NAME]               (every snapshot as lvs shows it, or NAME's)
              mirror [NAME]                  (every mirror's legs, sync and log, or NAME's)
              stats [NAME...]                (I/O counters and latency histograms of each device and what it uses)
            """;
}
