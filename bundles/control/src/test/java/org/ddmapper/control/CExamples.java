package org.ddmapper.control;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds examples/c with plain cc and runs the programs (bounded in time, killed by pid on timeout). */
public final class CExamples {
    private CExamples() {}

    /** The repository's examples/c, found from the module's directory. */
    public static Path sources() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path c = p.resolve("examples").resolve("c");
            if (Files.isRegularFile(c.resolve("ddtest.c"))) return c;
        }
        throw new IllegalStateException("examples/c not found above " + here);
    }

    /** Compiles {@code name}.c into {@code outDir}/{@code name}; returns the binary. */
    public static Path compile(String name, Path outDir) throws IOException, InterruptedException {
        Path binary = outDir.resolve(name);
        Result r = run(List.of("cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(),
                sources().resolve(name + ".c").toString()), 60);
        if (r.exit() != 0) throw new IllegalStateException("cc " + name + ".c failed: " + r.stderr());
        return binary;
    }

    /** A finished program: exit code, stdout, stderr. */
    public record Result(int exit, String stdout, String stderr) {}

    public static Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("cexample", ".out");
        Path err = Files.createTempFile("cexample", ".err");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(command)).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(command + " did not finish within " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
