package org.ddmapper.runtime;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Runs Gogo commands headless ({@code bin/ddmapper --exec COMMAND}): each through a session of the
 * running framework's CommandProcessor, the same one the console uses, with no terminal attached. A
 * command's printed output and its formatted result go to {@code out}.
 */
final class GogoCommands {

    static final String PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    static final String SESSION = "org.apache.felix.service.command.CommandSession";
    /** Converter.INSPECT: how the console formats a command's result. */
    private static final int INSPECT = 0;

    private GogoCommands() {
    }

    static void run(BundleContext context, List<String> commands, PrintStream out, PrintStream err, Duration timeout)
            throws LaunchFailure, InterruptedException {
        if (commands.isEmpty()) {
            return;
        }
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, PROCESSOR, null);
        tracker.open(true);
        try {
            Object processor = tracker.waitForService(timeout.toMillis());
            if (processor == null) {
                throw LaunchFailure.failed("--exec: no Gogo CommandProcessor service after " + timeout.toSeconds()
                        + " s (is org.apache.felix.gogo.runtime in bundle/?)");
            }
            Object session = createSession(processor, out, err);
            try {
                for (String command : commands) {
                    execute(session, command, out);
                }
            } finally {
                closeQuietly(session);
            }
        } finally {
            tracker.close();
        }
    }

    private static Object createSession(Object processor, PrintStream out, PrintStream err) throws LaunchFailure {
        InputStream noInput = new ByteArrayInputStream(new byte[0]);
        try {
            return Services.call(processor, PROCESSOR, "createSession",
                    new Class<?>[] {InputStream.class, OutputStream.class, OutputStream.class}, noInput, out, err);
        } catch (Exception e) {
            throw LaunchFailure.failed("--exec: cannot open a Gogo session: " + Describe.chain(e));
        }
    }

    private static void execute(Object session, String command, PrintStream out) throws LaunchFailure {
        try {
            Object result = Services.call(session, SESSION, "execute", new Class<?>[] {CharSequence.class}, command);
            if (result != null) {
                Object text = Services.call(session, SESSION, "format", new Class<?>[] {Object.class, int.class},
                        result, INSPECT);
                if (text != null && !text.toString().isEmpty()) {
                    out.println(text);
                }
            }
            out.flush();
        } catch (Exception e) {
            throw LaunchFailure.failed("--exec '" + command + "': " + Describe.chain(e));
        }
    }

    private static void closeQuietly(Object session) {
        try {
            Services.call(session, SESSION, "close");
        } catch (Exception ignored) {
            // the session only buffers; nothing is lost
        }
    }
}
