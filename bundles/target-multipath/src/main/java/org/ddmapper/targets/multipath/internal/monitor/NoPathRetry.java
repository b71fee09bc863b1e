package org.ddmapper.targets.multipath.internal.monitor;

/** multipath.conf {@code no_path_retry}: what I/O does when a map has no path left. */
public sealed interface NoPathRetry {
    /** Fail it at once (queue_if_no_path off). */
    record Fail() implements NoPathRetry {}

    /** Queue it until a path returns (queue_if_no_path on). */
    record Queue() implements NoPathRetry {}

    /** Queue it for {@code intervals} polling intervals, then fail it until a path returns. */
    record Retry(long intervals) implements NoPathRetry {}

    static NoPathRetry parse(String word) {
        return switch (word) {
            case "fail", "0" -> new Fail();
            case "queue" -> new Queue();
            default -> new Retry(MultipathConf.positiveWholeNumber(word, "no_path_retry", "fail, queue or a number of intervals"));
        };
    }

    default String word() {
        if (this instanceof Retry r) return Long.toString(r.intervals());
        return this instanceof Queue ? "queue" : "fail";
    }
}
