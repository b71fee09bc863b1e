package org.ddmapper.spi;

import java.util.List;
import java.util.Optional;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.Message;

/**
 * One target of a table. See the package documentation for the lifecycle.
 *
 * <p><b>Which calls may overlap.</b> The core serialises the lifecycle hooks of one device: {@link
 * #presuspend}, {@link #postsuspend}, {@link #preresume}, {@link #resume}, {@link #exportState},
 * {@link #importState} and {@link #destroy} run one at a time, under the device's control lock. The
 * rest is not serialised with them or with each other:
 * <ul>
 *   <li>{@link #map} and {@link #allocation} run on many threads at once, and may still be running
 *       while {@code presuspend} runs (a request that passed the device's gate just before it closed);
 *       none is running or starts once {@code postsuspend} is called, until {@code resume}.</li>
 *   <li>{@link #message} runs on the caller's thread at any time the table is live: beside
 *       {@code map}, beside {@code status}, and beside a suspend's {@code presuspend} and
 *       {@code postsuspend}. A target whose messages change state a suspend depends on checks
 *       "not suspended" and acts under one lock of its own (multipath does).</li>
 *   <li>{@link #status} runs at any time, beside everything above, and may even overlap the
 *       {@code destroy} of a table that a resume just replaced: answer from fields, never block.</li>
 *   <li>{@link #devices} runs on any thread, possibly while the core holds its stacking lock.</li>
 *   <li>Completions of the requests a target submits run on any thread, possibly before
 *       {@code submit} returns, and must not block.</li>
 * </ul>
 */
public interface Target {

    /**
     * Maps one request whose sectors are relative to this target's start. Must eventually
     * complete it (directly, through a device it is submitted to, or with REQUEUE). Never
     * blocks for long: waiting belongs in a completion, not on the caller's thread.
     */
    void map(Bio bio);

    /**
     * Which of the target's sectors {@code [startSector, startSector + lengthSectors)} (relative
     * to its start) hold data and which are holes reading as zeros, as
     * {@link BlockDevice#allocation} answers (in order, may stop short, never past the range). A
     * remapping target asks its devices ({@link DeviceArea#allocation}). Called with the table
     * live and the target's devices open, on a thread that may block. Default: one DATA run.
     */
    default List<Extent> allocation(long startSector, long lengthSectors) {
        return List.of(Extent.data(startSector, lengthSectors));
    }

    /** Called before in-flight I/O is drained. Default: nothing. With noflush, complete queued I/O with REQUEUE. */
    default void presuspend(boolean noflush) {}

    /** Called once the device has no I/O in flight. Default: nothing. */
    default void postsuspend() {}

    /**
     * Called on the incoming table before it goes live; read on-disk state here. Throwing
     * vetoes the resume: the old table stays live and the message reaches the caller.
     * Default: nothing.
     */
    default void preresume() {}

    /** Called once this target's table is live. Default: nothing. */
    default void resume() {}

    /** The INFO or TABLE text (without start, length and type). */
    String status(StatusType type);

    /** Handles a message and returns the reply text. Default: refuses with EINVAL. */
    default String message(Message message) {
        throw new DmException(Errno.EINVAL, "target takes no messages");
    }

    /**
     * The devices this target uses now that the core cannot see by itself (the kernel's
     * {@code iterate_devices}). The core already counts every device opened through the target's
     * {@link TableArgs} and every device opened through {@link TargetContext#openDevice} or
     * {@link TargetContext#adoptSocket} and not closed since (a path reopened after a reconnect);
     * it adds these to {@code deps}, stacking order and cycle checks. Called from any thread, possibly
     * while the core holds its stacking lock: return a snapshot, never block. Default: none beyond what the core saw opened.
     */
    default List<BlockDevice> devices() { return List.of(); }

    /** Releases everything the target holds. Devices opened through TableArgs are closed by the core afterwards. Default: nothing. */
    default void destroy() {}

    /**
     * State to hand to the next version of this target during a live upgrade, asked (with no I/O in
     * flight) only of types that declare {@link TargetFeature#STATE_HANDOVER}. Default: none.
     */
    default Optional<TargetState> exportState() { return Optional.empty(); }

    /**
     * Takes over the state a previous version exported, before preresume; called only on targets of
     * types that declare {@link TargetFeature#STATE_HANDOVER}. Default: ignores it.
     */
    default void importState(TargetState state) {}
}
