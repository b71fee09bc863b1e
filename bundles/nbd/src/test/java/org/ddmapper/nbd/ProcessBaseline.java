package org.ddmapper.nbd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The process's live threads and open descriptors at one moment, to check that a burst of
 * clients left nothing behind: {@link #assertRestoredWithin} polls until both counts are back to
 * (or below) the baseline and otherwise fails naming what is left over. The server's BLOCK_STATUS
 * pool is left out: it grows to its fixed 4 threads on demand and lets idle ones go after 30 s, so
 * it cannot leak but is not back "within a second" either.
 */
final class ProcessBaseline {
    private static final String QUERY_POOL = "nbd-block-status-";

    private final List<String> threads;
    private final long descriptors;

    private ProcessBaseline(List<String> threads, long descriptors) {
        this.threads = threads;
        this.descriptors = descriptors;
    }

    static ProcessBaseline take() {
        return new ProcessBaseline(threadNames(), descriptorCount());
    }

    /** Polls for up to {@code millis} until threads and descriptors are back to the baseline; fails with what is left. */
    void assertRestoredWithin(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        for (;;) {
            List<String> now = threadNames();
            long fds = descriptorCount();
            if (now.size() <= threads.size() && fds <= descriptors) return;
            if (System.nanoTime() - deadline > 0) {
                List<String> extra = now.stream().filter(n -> !threads.contains(n)).toList();
                throw new AssertionError("not back to the baseline within " + millis + " ms: threads " + threads.size()
                        + " -> " + now.size() + " " + extra + ", descriptors " + descriptors + " -> " + fds);
            }
            Thread.sleep(10);
        }
    }

    private static List<String> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> !n.startsWith(QUERY_POOL)).sorted().toList();
    }

    private static long descriptorCount() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
