package org.ddmapper.targets.multipath;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.ddmapper.spi.testkit.TableFuzz;
import org.ddmapper.targets.multipath.internal.MapRegistry;

/** Fuzzes multipath's table line (input: {@code <length> <args...>}; see {@link TableFuzz}). */
class TableFuzzTest {

    @FuzzTest
    void multipath(byte[] input) {
        TableFuzz.check(() -> {
            MultipathTargetType type = new MultipathTargetType();
            type.registry = new MapRegistry();
            return type;
        }, input);
    }
}
