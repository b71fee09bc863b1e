package org.ddmapper.it.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What the distribution's bundle/ holds, read from the jars' manifests, and what Gogo's lb says about it. */
final class DistributionBundles {

    /** One jar of bundle/. */
    record Jar(String file, String symbolicName, boolean fragment, boolean declaresComponents) {
    }

    /** A row of {@code lb -s}: {@code    8|Active     |    1|org.ddmapper.core (0.1.0.SNAPSHOT)|0.1.0.SNAPSHOT}. */
    private static final Pattern LB_ROW = Pattern.compile("^\\s*(\\d+)\\|(\\w+)\\s*\\|\\s*\\d+\\|(\\S+) \\(", Pattern.MULTILINE);

    private DistributionBundles() {
    }

    /** Symbolic name → jar, for every jar of {@code dist/bundle}. */
    static Map<String, Jar> read(Path dist) {
        Map<String, Jar> jars = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dist.resolve("bundle"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                try (JarFile jar = new JarFile(file.toFile())) {
                    Attributes main = jar.getManifest().getMainAttributes();
                    String name = main.getValue("Bundle-SymbolicName").split(";")[0].strip();
                    jars.put(name, new Jar(file.getFileName().toString(), name, main.getValue("Fragment-Host") != null,
                            main.getValue("Service-Component") != null));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return jars;
    }

    /** Symbolic name → state ("Active", "Resolved", …) from the output of {@code lb -s}. */
    static Map<String, String> parseLb(String output) {
        Map<String, String> states = new LinkedHashMap<>();
        Matcher m = LB_ROW.matcher(output);
        while (m.find()) {
            states.put(m.group(3), m.group(2));
        }
        return states;
    }
}
