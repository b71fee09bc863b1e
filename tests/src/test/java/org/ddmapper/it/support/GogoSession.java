package org.ddmapper.it.support;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.osgi.framework.Bundle;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * A headless Gogo session of an embedded framework, through its CommandProcessor service (Gogo's
 * types are reached by reflection: they live in the gogo runtime bundle, not on the test's class
 * path). What a command prints goes to one buffer, stdout and stderr alike.
 */
public final class GogoSession {
    public static final String PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    private static final String SESSION = "org.apache.felix.service.command.CommandSession";

    private final Bundle runtime;
    private final Object processor;
    private final Method createSession;
    private final Method execute;
    private final Object session;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private GogoSession(EmbeddedFramework fw, ServiceReference<?> ref) throws ReflectiveOperationException {
        runtime = ref.getBundle();
        processor = fw.context().getService(ref);
        createSession = runtime.loadClass(PROCESSOR).getMethod("createSession", InputStream.class, OutputStream.class, OutputStream.class);
        execute = runtime.loadClass(SESSION).getMethod("execute", CharSequence.class);
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        session = newSession(print, print);
    }

    /** Waits for the CommandProcessor and for command services matching {@code commandFilter}, then opens a session. */
    public static GogoSession open(EmbeddedFramework fw, String commandFilter) throws ReflectiveOperationException {
        ServiceReference<?>[] ref = new ServiceReference<?>[1];
        Waits.await("the CommandProcessor and " + commandFilter, Duration.ofSeconds(15), () -> {
            try {
                ref[0] = fw.context().getServiceReference(PROCESSOR);
                return ref[0] != null && fw.context().getAllServiceReferences(null, commandFilter) != null;
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException(e);
            }
        });
        return new GogoSession(fw, ref[0]);
    }

    /** The gogo runtime bundle (to load its other types). */
    public Bundle runtime() {
        return runtime;
    }

    /** Another session of the same processor, printing to the given streams. */
    public Object newSession(OutputStream stdout, OutputStream stderr) throws ReflectiveOperationException {
        return createSession.invoke(processor, new ByteArrayInputStream(new byte[0]),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
    }

    /** Runs one command line in {@code otherSession} (from {@link #newSession}); returns its result object. */
    public Object execute(Object otherSession, String line) throws Exception {
        try {
            return execute.invoke(otherSession, line);
        } catch (InvocationTargetException e) {
            throw (Exception) e.getCause();
        }
    }

    /** Runs one command line; returns what it printed. */
    public synchronized String printed(String line) throws Exception {
        out.reset();
        execute(session, line);
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Runs one command line; returns what it printed followed by its result object, as the console shows them. */
    public synchronized String shown(String line) throws Exception {
        out.reset();
        Object result = execute(session, line);
        return out.toString(StandardCharsets.UTF_8) + (result == null ? "" : result + "\n");
    }

    /** Runs one command line; returns its result object as text (gogo's help returns its text). */
    public synchronized String result(String line) throws Exception {
        out.reset();
        return String.valueOf(execute(session, line));
    }
}
