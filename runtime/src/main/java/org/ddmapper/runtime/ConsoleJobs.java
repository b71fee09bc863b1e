package org.ddmapper.runtime;

import java.io.PrintStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The commands the console (the Gogo shell on the terminal) is running, so that Ctrl-C interrupts
 * them instead of stopping the appliance. The shell's session is recognised by its first command,
 * {@code gosh …}, through a {@code CommandSessionListener} service (Gogo calls every registered one
 * before each command); a {@code JobListener} on that session then sees each command line start and
 * end as a job below the shell's own job. {@link #interrupt()} interrupts those (Gogo cancels the
 * job: its thread gets an interrupt, as {@code dm:events} and {@code dm:wait} expect).
 *
 * <p>Gogo's types live in its runtime bundle; as everywhere in the launcher they are reached by
 * reflection (proxies of the interfaces as that bundle loads them), never linked.
 */
final class ConsoleJobs {

    static final String GOGO_RUNTIME = "org.apache.felix.gogo.runtime";
    private static final String SESSION_LISTENER = "org.apache.felix.service.command.CommandSessionListener";
    private static final String JOB_LISTENER = "org.apache.felix.service.command.JobListener";
    private static final String SESSION = "org.apache.felix.service.command.CommandSession";
    private static final String JOB = "org.apache.felix.service.command.Job";
    /** The Gogo shell's prompt when the session sets none. */
    private static final String DEFAULT_PROMPT = "g! ";

    private final Set<Object> running = ConcurrentHashMap.newKeySet();
    private final Class<?> sessionType;
    private final Class<?> jobType;
    private final Object jobListener;
    private volatile Object shellSession;
    private ServiceRegistration<?> registration;

    private ConsoleJobs(Bundle gogoRuntime) throws ClassNotFoundException {
        sessionType = gogoRuntime.loadClass(SESSION);
        jobType = gogoRuntime.loadClass(JOB);
        Class<?> jobListenerType = gogoRuntime.loadClass(JOB_LISTENER);
        jobListener = proxy(jobListenerType, (method, args) -> {
            if (method.getName().equals("jobChanged")) {
                jobChanged(args[0], String.valueOf(args[2]));
            }
            return null;
        });
    }

    /**
     * Starts watching for the shell's session; call before the shell bundle starts. Throws when the
     * Gogo runtime is missing or its types are not the ones known here.
     */
    static ConsoleJobs watch(BundleContext context) throws ReflectiveOperationException {
        Bundle gogoRuntime = null;
        for (Bundle bundle : context.getBundles()) {
            if (GOGO_RUNTIME.equals(bundle.getSymbolicName())) {
                gogoRuntime = bundle;
            }
        }
        if (gogoRuntime == null) {
            throw new ClassNotFoundException(GOGO_RUNTIME + " is not in bundle/");
        }
        ConsoleJobs jobs = new ConsoleJobs(gogoRuntime);
        Class<?> sessionListenerType = gogoRuntime.loadClass(SESSION_LISTENER);
        Object sessionListener = proxy(sessionListenerType, (method, args) -> {
            if (method.getName().equals("beforeExecute")) {
                jobs.beforeExecute(args[0], String.valueOf(args[1]));
            }
            return null;
        });
        jobs.registration = context.registerService(SESSION_LISTENER, sessionListener, null);
        return jobs;
    }

    /**
     * Interrupts the commands the console runs. At its prompt nothing runs: as in a shell, the line
     * typed so far is gone (the terminal discarded it) and a fresh prompt shows.
     */
    void interrupt() {
        boolean interrupted = false;
        for (Object job : running) {
            try {
                if (String.valueOf(jobType.getMethod("status").invoke(job)).equals("Foreground")) {
                    jobType.getMethod("interrupt").invoke(job);
                    interrupted = true;
                } else {
                    running.remove(job);
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                System.err.println("ddmapper: cannot interrupt the console's command: " + Describe.chain(e));
            }
        }
        Object session = shellSession;
        if (!interrupted && session != null) {
            try {
                Object prompt = sessionType.getMethod("get", String.class).invoke(session, "prompt");
                PrintStream console = (PrintStream) sessionType.getMethod("getConsole").invoke(session);
                console.print("\n" + (prompt instanceof CharSequence text ? text : DEFAULT_PROMPT));
                console.flush();
            } catch (ReflectiveOperationException | RuntimeException e) {
                // no fresh prompt; the console still reads its line
            }
        }
    }

    void close() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the framework stopped first
        }
    }

    private void beforeExecute(Object session, String command) throws ReflectiveOperationException {
        if (shellSession == null && command.startsWith("gosh")) {
            synchronized (this) {
                if (shellSession == null) {
                    shellSession = session;
                    sessionType.getMethod("setJobListener", jobListener.getClass().getInterfaces()[0])
                            .invoke(session, jobListener);
                }
            }
        }
    }

    /** A job below the shell's own (a command line typed at the prompt) started, changed or ended. */
    private void jobChanged(Object job, String status) throws ReflectiveOperationException {
        if (jobType.getMethod("parent").invoke(job) == null) {
            return; // the shell itself: interrupting it would end the console
        }
        if (status.equals("Foreground")) {
            running.add(job);
        } else {
            running.remove(job);
        }
    }

    private interface Handler {
        Object handle(Method method, Object[] args) throws Exception;
    }

    private static Object proxy(Class<?> type, Handler handler) {
        InvocationHandler invocation = (proxy, method, args) -> switch (method.getName()) {
            case "equals" -> args.length == 1 && proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            case "toString" -> "ddmapper launcher " + type.getSimpleName();
            default -> {
                try {
                    yield handler.handle(method, args);
                } catch (Exception | LinkageError e) { // never into Gogo: the console goes on without Ctrl-C
                    System.err.println("ddmapper: console " + type.getSimpleName() + ": " + Describe.chain(e));
                    yield null;
                }
            }
        };
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, invocation);
    }
}
