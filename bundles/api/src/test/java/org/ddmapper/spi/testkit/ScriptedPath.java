package org.ddmapper.spi.testkit;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/** A path for checker tests (all checker bundles share it): answers every read OK, with an error, or never (hung). */
public final class ScriptedPath implements BlockDevice {
    private final String reference;
    private final Errno error;
    private final boolean hang;
    public final List<Bio> pending = new ArrayList<>();

    public ScriptedPath(String reference, Errno error, boolean hang) {
        this.reference = reference;
        this.error = error;
        this.hang = hang;
    }

    @Override public String reference() { return reference; }

    @Override public long sizeSectors() { return 2048; }

    @Override
    public synchronized void submit(Bio bio) {
        if (hang) pending.add(bio);
        else if (error != null) bio.fail(error, "scripted");
        else bio.complete(IoStatus.OK);
    }

    @Override public void close() { }
}
