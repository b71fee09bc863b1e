package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.spi.TableArgs;

/**
 * The feature arguments of a multipath table. All of the kernel's are accepted
 * ({@code queue_if_no_path}, {@code pg_init_retries}, {@code pg_init_delay_msecs},
 * {@code queue_mode}, {@code retain_attached_hw_handler}); pg_init and queue_mode have no
 * effect here (no SCSI device handlers, one queue kind) and print back as Linux 6.1 prints them
 * ({@link #tableWords}). Ours:
 * {@code path_io_timeout_msecs N} fails a path whose request takes longer than N ms (0 = never).
 *
 * @param pgInitRetries      0 when not given
 * @param pgInitDelayMsecs   -1 when not given
 * @param queueMode          null when not given
 * @param pathIoTimeoutMillis -1 when not given (the default applies)
 */
public record Features(boolean queueIfNoPath, int pgInitRetries, int pgInitDelayMsecs, String queueMode,
                       boolean retainAttachedHwHandler, long pathIoTimeoutMillis) {

    /** A path request slower than this fails the path unless the table says otherwise. */
    public static final long DEFAULT_PATH_IO_TIMEOUT_MILLIS = 30_000;
    static final long MAX_PATH_IO_TIMEOUT_MILLIS = 3_600_000;

    /** Reads {@code <#features> [feature...]}. */
    static Features parse(TableArgs args) {
        TableArgs f = args.nextGroup("number of feature arguments", 10);
        boolean queue = false;
        boolean retain = false;
        int retries = 0;
        int delay = -1;
        String mode = null;
        long timeout = -1;
        while (f.hasNext()) {
            String word = f.next("feature");
            switch (word) {
                case "queue_if_no_path" -> queue = true;
                case "retain_attached_hw_handler" -> retain = true;
                case "pg_init_retries" -> retries = f.nextInt("pg_init_retries", 1, 50);
                case "pg_init_delay_msecs" -> delay = f.nextInt("pg_init_delay_msecs", 0, 60_000);
                case "queue_mode" -> mode = f.nextKeyword("queue_mode", "bio", "rq", "mq");
                case "path_io_timeout_msecs" ->
                        timeout = f.nextUnsigned("path_io_timeout_msecs", MAX_PATH_IO_TIMEOUT_MILLIS);
                default -> throw f.error("unrecognised feature '" + word + "' (expected queue_if_no_path, "
                        + "pg_init_retries, pg_init_delay_msecs, queue_mode, retain_attached_hw_handler "
                        + "or path_io_timeout_msecs)");
            }
        }
        return new Features(queue, retries, delay, mode, retain, timeout);
    }

    /** The timeout in force: the table's, else the default. 0 means none. */
    public long effectivePathIoTimeoutMillis() {
        return pathIoTimeoutMillis >= 0 ? pathIoTimeoutMillis : DEFAULT_PATH_IO_TIMEOUT_MILLIS;
    }

    /** Whether the table asks for bio-based queueing (Linux 6.1 then drops any hardware handler and implies retain_attached_hw_handler). */
    boolean bioBased() { return "bio".equals(queueMode); }

    /**
     * The feature words for TABLE output as Linux 6.1 writes them, with queue_if_no_path as it is
     * now: {@code queue_mode rq|mq} is the default and not printed; {@code bio} prints with
     * {@code retain_attached_hw_handler} before it.
     */
    List<String> tableWords(boolean queueNow) {
        List<String> w = new ArrayList<>();
        if (queueNow) w.add("queue_if_no_path");
        if (pgInitRetries > 0) { w.add("pg_init_retries"); w.add(Integer.toString(pgInitRetries)); }
        if (pgInitDelayMsecs >= 0) { w.add("pg_init_delay_msecs"); w.add(Integer.toString(pgInitDelayMsecs)); }
        if (retainAttachedHwHandler || bioBased()) w.add("retain_attached_hw_handler");
        if (bioBased()) { w.add("queue_mode"); w.add("bio"); }
        if (pathIoTimeoutMillis >= 0) { w.add("path_io_timeout_msecs"); w.add(Long.toString(pathIoTimeoutMillis)); }
        return w;
    }
}
