package org.ddmapper.runtime;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line of {@code bin/ddmapper}. When an option is given twice, the last one wins (so a
 * wrapper can put defaults first).
 *
 * @param home          everything the appliance writes lives here
 * @param etc           the configuration directory (config.properties, tinylog.properties, tables/)
 * @param nbd           {@code HOST:PORT} of the NBD server (port 0: any free port), or {@code none}
 * @param http          {@code HOST:PORT} of the web administration and {@code /metrics} (Felix HTTP), or {@code none}
 * @param nbdSocket     Unix socket path of the NBD server, or empty for none
 * @param controlSocket the ddlink control socket
 * @param console       a Gogo console on the terminal, if stdin is one
 * @param exec          Gogo commands to run once the appliance is up, before the ready line
 * @param help          print the usage and exit
 */
record Options(Path home, Path etc, String nbd, String http, String nbdSocket, Path controlSocket, boolean console,
               List<String> exec, boolean help) {

    static final String DEFAULT_NBD = "127.0.0.1:10809";
    static final String NONE = "none";
    static final String DEFAULT_HTTP = "127.0.0.1:8080";
    /** sun_path holds 108 bytes including the terminating NUL. */
    static final int MAX_SOCKET_PATH_BYTES = 107;

    static final String USAGE = """
            usage: ddmapper [OPTION]...
            Boots the ddmapper appliance: mapped devices served over NBD, run from the control socket
            (bin/ddsetup) and the Gogo console.

              --home DIR          home for state, sockets, logs and cache (default: $DDMAPPER_HOME,
                                  else the distribution's var/)
              --etc DIR           configuration directory (default: the distribution's etc/)
              --nbd HOST:PORT     NBD server address, port 0 for any free port, or 'none'
                                  (default: 127.0.0.1:10809)
              --nbd-socket PATH   also serve NBD on this Unix socket
              --http HOST:PORT    web administration and Prometheus /metrics (login always required;
                                  first boot prints the generated password), or 'none'
                                  (default: 127.0.0.1:8080)
              --socket PATH       control socket (default: HOME/run/control.sock)
              --no-console        no Gogo console on the terminal (for services and tests)
              --exec COMMAND      run a Gogo command once up, before the ready line (repeatable)
              --help              print this help

            When ready it prints one line: ddmapper ready: nbd=ADDRESS control=PATH
            Exit status: 0 stopped (SIGTERM, SIGINT or the console's exit), 1 failure,
            64 bad command line, 78 bad configuration.
            """;

    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[^\\s:\\[\\]]+):(\\d{1,5})");

    /**
     * Parses {@code args}. Relative paths are resolved against {@code workingDir}; {@code env} supplies
     * DDMAPPER_HOME.
     */
    static Options parse(List<String> args, Path distribution, Path workingDir, Map<String, String> env)
            throws LaunchFailure {
        String home = null;
        String etc = null;
        String nbd = DEFAULT_NBD;
        String http = DEFAULT_HTTP;
        String nbdSocket = null;
        String socket = null;
        boolean console = true;
        boolean help = false;
        List<String> exec = new ArrayList<>();

        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg;
            String inlineValue = null;
            int equals = arg.indexOf('=');
            if (arg.startsWith("--") && equals > 0) {
                name = arg.substring(0, equals);
                inlineValue = arg.substring(equals + 1);
            }
            switch (name) {
                case "--no-console" -> {
                    requireNoValue(name, inlineValue);
                    console = false;
                }
                case "--help", "-h" -> {
                    requireNoValue(name, inlineValue);
                    help = true;
                }
                case "--home", "--etc", "--nbd", "--http", "--nbd-socket", "--socket", "--exec" -> {
                    String value = inlineValue;
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw LaunchFailure.usage(name + " needs a value (see --help)");
                        }
                        value = args.get(++i);
                    }
                    if (value.isBlank()) {
                        throw LaunchFailure.usage(name + " needs a non-empty value");
                    }
                    switch (name) {
                        case "--home" -> home = value;
                        case "--etc" -> etc = value;
                        case "--nbd" -> nbd = checkAddress("--nbd", value);
                        case "--http" -> http = checkAddress("--http", value);
                        case "--nbd-socket" -> nbdSocket = value;
                        case "--socket" -> socket = value;
                        default -> exec.add(value);
                    }
                }
                default -> throw LaunchFailure.usage("unknown option '" + arg + "' (see --help)");
            }
        }

        String homeSetting = home != null ? home : env.getOrDefault("DDMAPPER_HOME", "");
        Path homeDir = homeSetting.isEmpty() ? distribution.resolve("var") : workingDir.resolve(homeSetting);
        Path etcDir = etc == null ? distribution.resolve("etc") : workingDir.resolve(etc);
        Path controlSocket = socket == null
                ? homeDir.resolve("run").resolve("control.sock")
                : workingDir.resolve(socket);
        String nbdSocketPath = "";
        if (nbdSocket != null) {
            nbdSocketPath = checkSocketPath("--nbd-socket", workingDir.resolve(nbdSocket).normalize());
        }
        checkSocketPath("--socket", controlSocket.normalize());
        return new Options(homeDir.normalize(), etcDir.normalize(), nbd, http, nbdSocketPath, controlSocket.normalize(),
                console, List.copyOf(exec), help);
    }

    /** The host of a {@code HOST:PORT} the parser accepted (brackets of an IPv6 address removed). */
    static String host(String hostPort) {
        Matcher m = HOST_PORT.matcher(hostPort);
        if (!m.matches()) throw new IllegalArgumentException(hostPort);
        String h = m.group(1);
        return h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
    }

    /** The port of a {@code HOST:PORT} the parser accepted. */
    static String port(String hostPort) {
        Matcher m = HOST_PORT.matcher(hostPort);
        if (!m.matches()) throw new IllegalArgumentException(hostPort);
        return m.group(2);
    }

    private static void requireNoValue(String name, String inlineValue) throws LaunchFailure {
        if (inlineValue != null) {
            throw LaunchFailure.usage(name + " takes no value");
        }
    }

    private static String checkAddress(String option, String value) throws LaunchFailure {
        if (value.equals(NONE)) {
            return value;
        }
        Matcher m = HOST_PORT.matcher(value);
        if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw LaunchFailure.usage(option + ": expected HOST:PORT with a port from 0 to 65535, or 'none'; got '"
                    + value + "'");
        }
        return value;
    }

    private static String checkSocketPath(String option, Path path) throws LaunchFailure {
        int bytes = path.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_SOCKET_PATH_BYTES) {
            throw LaunchFailure.usage(option + ": " + path + " is " + bytes + " bytes long; a Unix socket path may be at most "
                    + MAX_SOCKET_PATH_BYTES + " (choose a shorter --home or --socket)");
        }
        return path.toString();
    }
}
