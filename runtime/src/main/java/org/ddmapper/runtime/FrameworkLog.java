package org.ddmapper.runtime;

import java.io.PrintStream;
import org.apache.felix.framework.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/**
 * The framework's own log (errors by default, {@code felix.log.level} in etc/config.properties) as
 * single lines on stderr, so that stdout carries only the ready line and --exec output.
 */
final class FrameworkLog extends Logger {

    private static final String[] LEVELS = {"", "error", "warning", "info", "debug"};
    private final PrintStream err;

    FrameworkLog(PrintStream err) {
        this.err = err;
    }

    @Override
    protected void doLog(Bundle bundle, ServiceReference sr, int level, String msg, Throwable throwable) {
        StringBuilder line = new StringBuilder("ddmapper: felix ");
        line.append(level > 0 && level < LEVELS.length ? LEVELS[level] : "log").append(": ");
        if (bundle != null && bundle.getSymbolicName() != null) {
            line.append(bundle.getSymbolicName()).append(": ");
        }
        line.append(Describe.oneLine(msg == null ? "" : msg));
        if (throwable != null) {
            line.append(": ").append(Describe.chain(throwable));
        }
        err.println(line);
    }
}
