package org.ddmapper.targets.linear;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.ddmapper.spi.testkit.TableFuzz;

/** Fuzzes the table lines of linear and striped (input: {@code <length> <args...>}; see {@link TableFuzz}). */
class TableFuzzTest {

    @FuzzTest
    void linear(byte[] input) {
        TableFuzz.check(LinearType::new, input);
    }

    @FuzzTest
    void striped(byte[] input) {
        TableFuzz.check(StripedType::new, input);
    }
}
