package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetState;
import org.ddmapper.spi.TargetType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TargetFeature.STATE_HANDOVER is what makes the core hand a target's state to its successor, both ways. */
@Timeout(30)
class StateHandoverTest {
    @TempDir Path dir;
    Devices devices;

    @BeforeEach
    void start() throws Exception {
        devices = new Devices();
        devices.start(CoreConfig.forHome(dir.resolve("home")));
    }

    @AfterEach
    void stop() { devices.close(); }

    /** "tstate": offers its generation as state; records what it is asked and given. */
    static final class Stateful implements TargetType {
        final boolean declares;
        final int generation;
        final List<String> calls = new CopyOnWriteArrayList<>();

        Stateful(boolean declares, int generation) {
            this.declares = declares;
            this.generation = generation;
        }

        @Override public String name() { return "tstate"; }

        @Override public String version() { return generation + ".0.0"; }

        @Override public Set<TargetFeature> features() { return declares ? Set.of(TargetFeature.STATE_HANDOVER) : Set.of(); }

        @Override public String usage() { return "tstate"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { bio.complete(IoStatus.OK); }

                @Override public String status(StatusType type) { return ""; }

                @Override
                public Optional<TargetState> exportState() {
                    calls.add("export");
                    return Optional.of(new TargetState("tstate", 1, Integer.toString(generation).getBytes(StandardCharsets.US_ASCII)));
                }

                @Override
                public void importState(TargetState state) { calls.add("import " + new String(state.data(), StandardCharsets.US_ASCII)); }
            };
        }
    }

    private List<String> swap(boolean oldDeclares, boolean newDeclares, Stateful[] out) {
        Stateful v1 = new Stateful(oldDeclares, 1);
        Stateful v2 = new Stateful(newDeclares, 2);
        devices.addTargetType(v1, "b 1.0.0", 1);
        devices.create("s", "0 8 tstate");
        devices.removeTargetType(v1);
        devices.addTargetType(v2, "b 2.0.0", 2);
        assertEquals(null, devices.info(DeviceRef.of("s")).missingType(), "rebuilt on the new version");
        out[0] = v1;
        return v2.calls;
    }

    @Test
    void stateGoesFromADeclaringTypeToADeclaringType() {
        Stateful[] old = new Stateful[1];
        assertEquals(List.of("import 1"), swap(true, true, old));
        assertEquals(List.of("export"), old[0].calls);
    }

    @Test
    void aTypeThatDoesNotDeclareItIsNeitherAskedNorGiven() {
        Stateful[] old = new Stateful[1];
        assertEquals(List.of(), swap(false, true, old), "nothing exported, nothing imported");
        assertEquals(List.of(), old[0].calls);
        devices.remove(DeviceRef.of("s"), false);
        assertEquals(List.of(), swap(true, false, old), "a successor that does not declare it gets nothing");
        assertEquals(List.of("export"), old[0].calls);
    }
}
