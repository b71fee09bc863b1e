package org.ddmapper.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;

/**
 * Checks of etc/ that the bundles would otherwise only log once the appliance runs, so that bad
 * configuration stops the boot with one line naming the file (and the line) and status 78.
 */
final class EtcFiles {

    static final String MULTIPATH_BUNDLE = "org.ddmapper.target.multipath";
    /** The check the multipath bundle exports for this: {@code static List<String> problems(String text, String source)}. */
    static final String MULTIPATH_CHECK = "org.ddmapper.targets.multipath.conf.MultipathConfCheck";

    private EtcFiles() {
    }

    /**
     * Every regular file of etc/ and etc/tables/ can be read (a bundle that cannot read its file would
     * log it and go on without it). A missing etc/ is left to the reading of config.properties.
     */
    static void checkReadable(Path etc) throws LaunchFailure {
        for (Path dir : List.of(etc, etc.resolve("tables"))) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> files;
            try (Stream<Path> entries = Files.list(dir)) {
                files = entries.sorted().toList();
            } catch (IOException e) {
                throw LaunchFailure.config(dir + ": cannot read: " + Describe.io(e));
            }
            for (Path file : files) {
                if (!Files.isRegularFile(file)) {
                    continue;
                }
                try (InputStream in = Files.newInputStream(file)) {
                    in.read();
                } catch (IOException e) {
                    throw LaunchFailure.config(file + ": cannot read: " + Describe.io(e));
                }
            }
        }
    }

    /**
     * etc/multipath.conf, when there is one and the multipath bundle is installed, checked by the
     * check that bundle exports (the path monitor's own parser; loaded through the bundle, since this
     * launcher runs outside every bundle — as {@link Services} calls services): its first problem
     * stops the boot. While the appliance runs, the monitor re-reads the file when it changes and,
     * like multipathd, logs problems and applies the rest. A check this launcher cannot call (a
     * bundle without it) leaves the file unchecked, with a warning.
     */
    static void checkMultipathConf(Path etc, List<Bundle> bundles, java.io.PrintStream err) throws LaunchFailure {
        Path file = etc.resolve("multipath.conf");
        Bundle multipath = bundles.stream().filter(b -> MULTIPATH_BUNDLE.equals(b.getSymbolicName())).findFirst().orElse(null);
        if (multipath == null || !Files.isRegularFile(file)) {
            return;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw LaunchFailure.config(file + ": cannot read: " + Describe.io(e));
        }
        List<?> problems;
        try {
            Class<?> check = multipath.loadClass(MULTIPATH_CHECK);
            problems = (List<?>) check.getMethod("problems", String.class, String.class).invoke(null, text, file.toString());
        } catch (InvocationTargetException e) {
            throw LaunchFailure.config(file + ": " + Describe.chain(e.getCause()));
        } catch (ReflectiveOperationException | ClassCastException e) {
            err.println("ddmapper: warning: " + file + " not checked: " + Describe.chain(e));
            return;
        }
        if (!problems.isEmpty()) {
            String more = problems.size() == 1 ? "" : " (and " + (problems.size() - 1) + " more)";
            throw LaunchFailure.config(located(file, String.valueOf(problems.get(0))) + more);
        }
    }

    /** "line 7: what" becomes "FILE:7: what"; a problem without a line "FILE: what". */
    static String located(Path file, String problem) {
        if (problem.startsWith("line ")) {
            int colon = problem.indexOf(':');
            String number = colon < 0 ? "" : problem.substring(5, colon);
            if (!number.isEmpty() && number.chars().allMatch(Character::isDigit)) {
                return file + ":" + number + ":" + problem.substring(colon + 1);
            }
        }
        return file + ": " + problem;
    }
}
