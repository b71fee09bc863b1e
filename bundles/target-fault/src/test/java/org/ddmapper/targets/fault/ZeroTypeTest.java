package org.ddmapper.targets.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class ZeroTypeTest {
    private final FakeTargetContext context = new FakeTargetContext(1 << 20);
    private final Target zero = new ZeroType().create(context, context.args("zero", ""));

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 200, 300})
    void readsReturnZerosIntoHeapAndDirectBuffers(int sectors) {
        for (ByteBuffer buffer : new ByteBuffer[] {ByteBuffer.allocate(sectors * 512 + 7), ByteBuffer.allocateDirect(sectors * 512 + 7)}) {
            while (buffer.hasRemaining()) buffer.put((byte) 0xA5);
            buffer.position(3).limit(3 + sectors * 512);
            Completion c = new Completion();
            zero.map(Bio.read(5, buffer, c));
            assertEquals(IoStatus.OK, c.get());
            buffer.clear();
            for (int i = 0; i < buffer.capacity(); i++) {
                byte expected = i < 3 || i >= 3 + sectors * 512 ? (byte) 0xA5 : 0;
                assertEquals(expected, buffer.get(i), "byte " + i);
            }
        }
    }

    @Test
    void writesFlushesAndDiscardsSucceed() {
        ByteBuffer data = ByteBuffer.allocate(512);
        data.put(0, (byte) 1);
        Completion w = new Completion();
        zero.map(Bio.write(0, data, Bio.FUA, w));
        Completion f = new Completion();
        zero.map(Bio.flush(f));
        Completion d = new Completion();
        zero.map(Bio.discard(0, 100, d));
        assertEquals(IoStatus.OK, w.get());
        assertEquals(IoStatus.OK, f.get());
        assertEquals(IoStatus.OK, d.get());
        assertEquals(1, data.get(0), "a write's buffer is left alone");

        ByteBuffer back = ByteBuffer.allocate(512);
        back.put(0, (byte) 9);
        zero.map(Bio.read(0, back, new Completion()));
        assertEquals(0, back.get(0), "a dropped write reads back as zeros");
    }

    @Test
    void statusIsEmpty() {
        assertEquals("", zero.status(StatusType.INFO));
        assertEquals("", zero.status(StatusType.TABLE));
    }

    @Test
    void refusesArguments() {
        TableException e = assertThrows(TableException.class, () -> new ZeroType().create(context, context.args("zero", "/dev/x 0")));
        assertEquals("zero: too many arguments: unexpected '/dev/x'", e.getMessage());
    }

    @Test
    void allocationIsOneHoleReadingAsZeros() {
        assertEquals(List.of(new Extent(7, 1000, Extent.Kind.HOLE)), zero.allocation(7, 1000));
    }
}
