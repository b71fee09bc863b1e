package org.ddmapper.targets.fault;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.DeviceArea;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetState;

/**
 * A flakey target, as Linux 6.1 has it. Up for {@code upSecs}, then down for {@code downSecs},
 * repeating, counted in whole seconds since construction (the kernel's jiffies / HZ). While down
 * (see {@link FlakeyFeatures}): a read fails when no feature was given, else passes and may be
 * corrupted on its way back; every other request (writes, discards, write-zeroes, flushes: the
 * kernel's WRITE direction) is dropped (completed OK without reaching the device) with
 * drop_writes, fails with error_writes or with no feature, else passes, a write possibly corrupted
 * in a copy (the caller's buffer is never touched). A live upgrade hands the cycle's position to
 * the next version, so the cycle goes on rather than restarting.
 */
final class Flakey implements Target {
    private final DeviceArea area;
    private final long upSecs;
    private final long downSecs;
    private final FlakeyFeatures features;
    private final LongSupplier nanoClock;
    /** Format of {@link #exportState()}: a long, nanoseconds since the cycle started. */
    static final int STATE_FORMAT = 1;
    private volatile long startNanos;

    Flakey(DeviceArea area, long upSecs, long downSecs, FlakeyFeatures features, LongSupplier nanoClock) {
        this.area = area;
        this.upSecs = upSecs;
        this.downSecs = downSecs;
        this.features = features;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** Whether the device is in its down interval now. */
    boolean isDown() {
        long elapsedSecs = (nanoClock.getAsLong() - startNanos) / 1_000_000_000L;
        return elapsedSecs % (upSecs + downSecs) >= upSecs;
    }

    @Override
    public void map(Bio bio) {
        if (!isDown()) {
            area.submit(bio);
        } else if (bio.op() == BioOp.READ) {
            readWhileDown(bio);
        } else if (features.dropWrites()) {
            bio.complete(IoStatus.OK);
        } else if (features.failsWrites()) {
            bio.fail(Errno.EIO, "flakey: " + bio.op().name().toLowerCase(Locale.ROOT) + " failed: device is down"
                    + (features.errorWrites() ? " (error_writes)" : ""));
        } else if (bio.op() == BioOp.WRITE && features.corruptsWrites()) {
            area.submit(corruptedCopy(bio));
        } else {
            area.submit(bio);
        }
    }

    private void readWhileDown(Bio bio) {
        if (features.errorReads()) {
            bio.fail(Errno.EIO, "flakey: read failed: device is down");
        } else if (features.corruptsReads()) {
            area.submit(bio.withCompletion(status -> {
                if (status.isOk()) corrupt(bio, bio.data(), false);
                bio.complete(status);
            }));
        } else {
            area.submit(bio);
        }
    }

    private Bio corruptedCopy(Bio bio) {
        ByteBuffer copy = ByteBuffer.allocate((int) bio.lengthBytes());
        copy.put(bio.data()).flip();
        corrupt(bio, copy, true);
        return Bio.of(BioOp.WRITE, bio.sector(), bio.lengthSectors(), copy, bio.flags(), bio::complete);
    }

    /** Applies corrupt_bio_byte to {@code data} when it is for this direction and the request's flags match. */
    private void corrupt(Bio bio, ByteBuffer data, boolean write) {
        FlakeyFeatures.Corruption fixed = features.corruptBioByte();
        int base = data.position();
        int length = data.remaining();
        if (fixed != null && fixed.onWrite() == write && (bio.flags() & fixed.flagsMask()) == fixed.flagsMask()
                && fixed.nthByte() <= length)
            data.put(base + fixed.nthByte() - 1, (byte) fixed.value());
    }

    @Override
    public Optional<TargetState> exportState() {
        long elapsedNanos = nanoClock.getAsLong() - startNanos;
        return Optional.of(new TargetState("flakey", STATE_FORMAT, ByteBuffer.allocate(8).putLong(elapsedNanos).array()));
    }

    /** Continues a predecessor's cycle where it was. */
    @Override
    public void importState(TargetState state) {
        if (!state.type().equals("flakey") || state.formatVersion() != STATE_FORMAT || state.data().length != 8) return;
        startNanos = nanoClock.getAsLong() - ByteBuffer.wrap(state.data()).getLong();
    }

    @Override
    public String status(StatusType type) {
        if (type == StatusType.INFO) return "";
        return area.tableText() + " " + upSecs + " " + downSecs + " " + features.tableText();
    }
}
