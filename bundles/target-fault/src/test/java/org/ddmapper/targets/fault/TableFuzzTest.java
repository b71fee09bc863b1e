package org.ddmapper.targets.fault;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.ddmapper.spi.testkit.TableFuzz;
import org.ddmapper.targets.fault.logwrites.LogWritesType;

/** Fuzzes the table lines of error, zero, delay, flakey and log-writes (input: {@code <length> <args...>}; see {@link TableFuzz}). */
class TableFuzzTest {

    @FuzzTest
    void error(byte[] input) {
        TableFuzz.check(ErrorType::new, input);
    }

    @FuzzTest
    void zero(byte[] input) {
        TableFuzz.check(ZeroType::new, input);
    }

    @FuzzTest
    void delay(byte[] input) {
        TableFuzz.check(DelayType::new, input);
    }

    @FuzzTest
    void flakey(byte[] input) {
        TableFuzz.check(FlakeyType::new, input);
    }

    @FuzzTest
    void logWrites(byte[] input) {
        TableFuzz.check(LogWritesType::new, input);
    }
}
