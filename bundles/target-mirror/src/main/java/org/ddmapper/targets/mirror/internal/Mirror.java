package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetState;
import org.tinylog.Logger;

/**
 * The mirror target (dm-raid1 with dm-log's core and disk logs): one device written to two to
 * nine legs, a dirty-region log that says which regions may differ between them, a background
 * resync that copies those regions, and leg failure handling. The I/O paths are {@link MirrorIo};
 * this class holds the pieces together through the target's life:
 *
 * <pre>
 *   create   parse (MirrorTable), nothing read from disk
 *   preresume    read the log (disk) or start it (core), or take a predecessor's state (live upgrade);
 *                write the header back with this table's region count
 *   resume       start the resync and the cleaner's tick
 *   presuspend   stop claiming regions to copy; writes held by a failed log end (REQUEUE with noflush, else EIO)
 *   postsuspend  wait for the copies in flight, mark every idle region clean, write the log
 * </pre>
 *
 * Events (only with {@code handle_errors} for legs, as the kernel raises them): MIRROR_LEG_FAILED
 * the first time a leg fails in a way (D, F, S, R), MIRROR_LOG_FAILED when the log device fails,
 * MIRROR_RECOVERY_COMPLETE each time every region is in sync on every leg.
 */
public final class Mirror implements Target {
    /** How often the cleaner looks for idle regions; a region is marked clean after one to two ticks idle. */
    static final long TICK_MILLIS = 500;
    /** Bound on the blocking log I/O of preresume and postsuspend. */
    static final long LOG_IO_TIMEOUT_MILLIS = 30_000;
    /**
     * Bound on marking idle regions clean at a suspend (it flushes the legs first): an optimisation
     * (a reload then resyncs less), so it never holds a suspend long when a leg does not answer.
     */
    static final long CLEAN_AT_SUSPEND_MILLIS = 2_000;
    /** Bytes of regions copied at once by the resync. */
    static final long RESYNC_WINDOW_BYTES = 8L << 20;

    private final TargetContext context;
    private final MirrorTable table;
    private final Legs legs;
    private final Regions regions;
    private final LogWriter log;
    private final Cleaner cleaner;
    private final Resync resync;
    private final MirrorIo io;
    private volatile MirrorState imported;
    private ScheduledFuture<?> ticker;
    private volatile boolean destroyed;
    /** Set while a handed-over failed log is failed again: no second event. */
    private volatile boolean quiet;
    /** Whether the legs that did not open were announced (once per target). */
    private boolean announcedUnopened;

    Mirror(TargetContext context, MirrorTable table) {
        this.context = context;
        this.table = table;
        List<Legs.Leg> list = new ArrayList<>();
        for (int i = 0; i < table.legCount(); i++) list.add(new Legs.Leg(i, table.legRefs().get(i), table.legs().get(i)));
        this.legs = new Legs(list, table.handleErrors());
        this.regions = new Regions(table.log().regionSectors(), context.lengthSectors());
        BlockDevice logDevice = table.log() instanceof LogSpec.Disk disk ? disk.device() : null;
        this.log = new LogWriter(regions, legs, logDevice, context.scheduler(), this::logFailed);
        this.cleaner = new Cleaner(regions, legs, log, (leg, s) -> legFailed(leg, Legs.Failure.FLUSH, s));
        long regionBytes = table.log().regionSectors() << Bio.SECTOR_SHIFT;
        int window = (int) Math.max(1, Math.min(16, RESYNC_WINDOW_BYTES / regionBytes));
        this.resync = new Resync(regions, legs, context.copier(), context.scheduler(), new Resync.Listener() {
            @Override public void copyFailed(Legs.Leg leg, IoStatus status) { legFailed(leg, Legs.Failure.SYNC, status); }

            @Override public void inSync(long copied) { raise(new EventPayload.MirrorRecoveryComplete(copied)); }
        }, window);
        this.io = new MirrorIo(regions, legs, log, resync, this::legFailed);
    }

    /** Builds a mirror from its table words. */
    public static Mirror create(TargetContext context, org.ddmapper.spi.TableArgs args) {
        return new Mirror(context, MirrorTable.parse(context, args));
    }

    @Override
    public void map(Bio bio) { io.map(bio); }

    // ---- failures and events ----

    private void legFailed(Legs.Leg leg, Legs.Failure kind, IoStatus status) {
        boolean firstOfKind = legs.failed(leg, kind, regions.liveLegsAgree());
        if (kind != Legs.Failure.READ) resync.outOfSync();
        if (firstOfKind) {
            Logger.warn("mirror {}: leg {} ({}) failed ({}): {}", context.deviceName(), leg.index, leg.reference, kind.code, status);
            if (legs.handleErrors())
                raise(new EventPayload.MirrorLegFailed(leg.index, leg.reference, String.valueOf(leg.statusChar()), status.toString()));
        }
    }

    private LogWriter.Policy logFailed(LogWriter.State state, IoStatus cause) {
        Logger.warn("mirror {}: log device {} failed ({}): {}", context.deviceName(), log.device().reference(), state.code, cause);
        if (!quiet) raise(new EventPayload.MirrorLogFailed(log.device().reference(), String.valueOf(state.code), cause.toString()));
        if (table.keepLog()) return LogWriter.Policy.FAIL;
        if (table.handleErrors() || table.log().blockOnError()) return LogWriter.Policy.HOLD;
        return LogWriter.Policy.GO_ON;
    }

    /** Raises an event, unless the target is gone (a late completion after destroy says nothing about the device now). */
    private void raise(EventPayload p) {
        if (!destroyed) context.raise(p);
    }

    // ---- lifecycle ----

    @Override
    public void preresume() {
        MirrorState state = imported;
        if (state != null) {
            state.applyTo(regions, legs);
            resync.rate(state.rate());
            resync.announced(state.announced());
            if (state.logState() != LogWriter.State.OK.code && !log.isCore()) {
                // the predecessor's log had failed: the same state and policy, announced once already
                quiet = true;
                try {
                    log.fail(state.logState() == LogWriter.State.FLUSH_FAILED.code ? LogWriter.State.FLUSH_FAILED : LogWriter.State.FAILED,
                            IoStatus.error(Errno.EIO, "the log had failed before the upgrade"));
                } finally {
                    quiet = false;
                }
            }
            return;
        }
        LogSpec spec = table.log();
        if (log.isCore()) {
            if (spec.sync() == LogSpec.SyncMode.NOSYNC) regions.allInSyncNow(); else regions.allOutOfSync();
            return;
        }
        IoStatus read = log.readImage(LOG_IO_TIMEOUT_MILLIS);
        if (!read.isOk()) {
            regions.allOutOfSync();
            if (spec.sync() == LogSpec.SyncMode.NOSYNC) regions.allInSyncNow();
            log.fail(LogWriter.State.FAILED, IoStatus.error(read.errno(), "reading the log: " + read.message()));
            return;
        }
        DiskLogFormat.Loaded loaded = DiskLogFormat.load(log.image(), regions.regionCount(), spec.sync());
        if (loaded.note() != null) Logger.info("mirror {}: log {}: {}", context.deviceName(), log.device().reference(), loaded.note());
        regions.load(loaded.clean());
        legs.staleFromLog(loaded.staleLegs());
        if (loaded.outcome() == DiskLogFormat.Outcome.INCOMPATIBLE) {
            log.fail(LogWriter.State.FAILED, IoStatus.error(Errno.EINVAL, loaded.note()));
            return;
        }
        log.writeNow(LOG_IO_TIMEOUT_MILLIS);
    }

    @Override
    public synchronized void resume() {
        for (int i = 0; i < legs.count(); i++) {
            Legs.Leg leg = legs.get(i);
            if (leg.area == null && !announcedUnopened && imported == null) {
                raise(new EventPayload.MirrorLegFailed(i, leg.reference, "D", "the leg's device could not be opened"));
            }
        }
        announcedUnopened = true;
        if (ticker == null) {
            ticker = context.scheduler().scheduleWithFixedDelay(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
        resync.start();
    }

    private void tick() {
        try {
            cleaner.round(false, 0);
            resync.kick();
        } catch (RuntimeException e) {
            Logger.warn(e, "mirror {}: cleaner tick failed", context.deviceName());
        }
    }

    @Override
    public void presuspend(boolean noflush) {
        resync.stop();
        IoStatus end = noflush ? IoStatus.REQUEUE : IoStatus.error(Errno.EIO, "mirror: write held for the failed log, ended by a suspend");
        int n = log.releaseHeld(end);
        if (n > 0) Logger.info("mirror {}: {} held writes ended by the suspend ({})", context.deviceName(), n, end);
    }

    @Override
    public void postsuspend() {
        try {
            if (!resync.awaitIdle(LOG_IO_TIMEOUT_MILLIS))
                Logger.warn("mirror {}: copies still in flight after {} ms", context.deviceName(), LOG_IO_TIMEOUT_MILLIS);
            stopTicker();
            cleaner.round(true, CLEAN_AT_SUSPEND_MILLIS);
            if (!log.awaitIdle(LOG_IO_TIMEOUT_MILLIS))
                Logger.warn("mirror {}: log not written within {} ms", context.deviceName(), LOG_IO_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void stopTicker() {
        if (ticker != null) ticker.cancel(false);
        ticker = null;
    }

    @Override
    public void destroy() {
        destroyed = true;
        resync.stop();
        stopTicker();
        log.close();
    }

    // ---- status, messages, handover ----

    @Override
    public String status(StatusType type) {
        return type == StatusType.TABLE ? MirrorStatus.table(table) : MirrorStatus.info(table, legs, regions, log);
    }

    @Override
    public String message(Message message) {
        List<String> words = message.words();
        if (words.size() == 2 && words.get(0).equals("resync_rate")) {
            long kib = org.ddmapper.api.TableLine.parseUnsigned(words.get(1));
            if (kib < 0 || kib > Long.MAX_VALUE / 1024)
                throw new DmException(Errno.EINVAL, "mirror: invalid resync rate '" + words.get(1) + "' (KiB/s, 0 for no limit)");
            resync.rate(kib * 1024);
            return "";
        }
        throw new DmException(Errno.EINVAL, "mirror: unknown message '" + String.join(" ", words)
                + "' (the one message is: resync_rate <KiB/s>)");
    }

    @Override
    public Optional<TargetState> exportState() {
        return Optional.of(MirrorState.of(regions, legs, log.state().code, resync.rate(), resync.announced()).toTargetState());
    }

    @Override
    public void importState(TargetState state) {
        MirrorState s = MirrorState.from(state);
        if (s != null && s.fits(regions, legs)) imported = s;
    }

    /** The pieces, for tests in this package. */
    Regions regions() { return regions; }

    Legs legs() { return legs; }

    LogWriter log() { return log; }

    Resync resync() { return resync; }
}
