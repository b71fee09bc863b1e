package org.ddmapper.core.internal.upgrade;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DmException;
import org.ddmapper.core.internal.UpgradeSupport;
import org.ddmapper.core.internal.MappedDevice;

/**
 * Quiesces the devices an upgrade will park, before the bundle is updated, so that the park that
 * follows finds nothing in flight: upper devices first, in waves of devices not stacked on one
 * another (a wave is stopped all at once, then drained: its I/O drains in parallel, each wave
 * within the timeout). A device that does not drain in time makes the upgrade refuse with
 * ETIMEDOUT, after releasing every device quiesced so far: nothing changed, no I/O errored.
 */
final class UpgradeQuiesce {
    private final UpgradeSupport devices;

    UpgradeQuiesce(UpgradeSupport devices) {
        this.devices = devices;
    }

    /** Quiesces every listed device (lower devices first) whose live table uses one of these types; throws ETIMEDOUT after releasing them. */
    void quiesce(List<Long> ids, Set<String> typeNames, long timeoutMillis) {
        List<MappedDevice> upperFirst = devices.withIds(ids);
        Collections.reverse(upperFirst);
        List<MappedDevice> done = new ArrayList<>();
        try {
            for (List<MappedDevice> wave : devices.waves(upperFirst)) quiesceWave(wave, typeNames, timeoutMillis, done);
        } catch (DmException e) {
            Collections.reverse(done);
            releaseAll(done);
            throw e;
        }
    }

    /** One wave, under its control locks; adds what it quiesced to {@code done}. */
    private void quiesceWave(List<MappedDevice> wave, Set<String> typeNames, long timeoutMillis, List<MappedDevice> done) {
        devices.underControl(wave, () -> {
            List<MappedDevice> stopped = new ArrayList<>();
            for (MappedDevice d : wave) if (!d.isRemoved() && devices.liveUses(d, typeNames) && d.stopForSwap()) stopped.add(d);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            for (int i = 0; i < stopped.size(); i++) {
                try {
                    stopped.get(i).finishSwapQuiesce(deadline, timeoutMillis);
                    done.add(stopped.get(i));
                } catch (DmException e) {
                    for (MappedDevice rest : stopped.subList(i + 1, stopped.size())) rest.abandonSwapStop();
                    throw e;
                }
            }
        });
    }

    /** Releases devices {@link #quiesce} quiesced that the upgrade did not park (it failed before), lower devices first. */
    void release(List<Long> ids) { releaseAll(devices.withIds(ids)); }

    private void releaseAll(List<MappedDevice> lowerFirst) {
        for (MappedDevice d : lowerFirst) devices.underControl(List.of(d), () -> {
            if (!d.isRemoved()) d.releaseSwapQuiesce();
        });
    }
}
