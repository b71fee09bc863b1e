package org.ddmapper.targets.multipath.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;

/** A map's surroundings for unit tests: a fake context and two scripted paths, /p/a and /p/b, over one 64-sector disk. */
abstract class TwoScriptedPaths {
    protected final byte[] disk = new byte[64 * 512];
    protected FakeTargetContext ctx;
    protected MemoryDevice a;
    protected MemoryDevice b;

    @BeforeEach
    void setUpPaths() {
        ctx = new FakeTargetContext(64).named("mpatha");
        a = new MemoryDevice("/p/a", disk);
        b = new MemoryDevice("/p/b", disk);
        ctx.device(a).device(b);
    }

    @AfterEach
    void closeContext() { ctx.close(); }

    /** A resumed map built from {@code args} over the two paths. */
    protected MultipathTarget build(String args) {
        MultipathTarget t = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, args), null);
        t.resume();
        return t;
    }
}
