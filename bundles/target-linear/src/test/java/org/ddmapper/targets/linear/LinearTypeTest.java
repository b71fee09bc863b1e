package org.ddmapper.targets.linear;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class LinearTypeTest {
    private final MemoryDevice disk = new MemoryDevice("/dev/disk", 1024);
    private final LinearType type = new LinearType();

    private Target create(long lengthSectors, String words) {
        FakeTargetContext context = new FakeTargetContext(lengthSectors, disk, new MemoryDevice("/tmp/a b", 64));
        return type.create(context, context.args("linear", words));
    }

    @Test
    void writesLandAtTheOffsetAndReadBack() {
        Target linear = create(512, "/dev/disk 100");
        byte[] data = pattern(3 * 512, 7);
        Completion w = new Completion();
        linear.map(Bio.write(10, ByteBuffer.wrap(data), Bio.FUA, w));
        assertEquals(IoStatus.OK, w.get());
        assertArrayEquals(data, disk.contents(110, 3));
        assertEquals(List.of(new MemoryDevice.Request(BioOp.WRITE, 110, 3, Bio.FUA)), disk.requests());

        ByteBuffer back = ByteBuffer.allocate(3 * 512);
        Completion r = new Completion();
        linear.map(Bio.read(10, back, r));
        assertEquals(IoStatus.OK, r.get());
        assertArrayEquals(data, back.array());
    }

    @Test
    void flushDiscardAndErrorsPassThrough() {
        Target linear = create(512, "/dev/disk 0");
        Completion f = new Completion();
        linear.map(Bio.flush(f));
        assertEquals(IoStatus.OK, f.get());
        Completion d = new Completion();
        linear.map(Bio.discard(8, 16, d));
        assertEquals(IoStatus.OK, d.get());
        assertEquals(List.of(new MemoryDevice.Request(BioOp.FLUSH, 0, 0, 0),
                new MemoryDevice.Request(BioOp.DISCARD, 8, 16, 0)), disk.requests());

        disk.failNext(1, Errno.EIO);
        Completion r = new Completion();
        linear.map(Bio.read(0, ByteBuffer.allocate(512), r));
        assertEquals(Errno.EIO, r.get().errno());
        assertEquals(1, r.calls());
    }

    @Test
    void mappingAllocatesNoMoreThanTheChildRequest() {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        BlockDevice sink = new BlockDevice() {
            public String reference() { return "/dev/disk"; }
            public long sizeSectors() { return 1024; }
            public void submit(Bio bio) { bio.complete(IoStatus.OK); }
            public void close() { }
        };
        FakeTargetContext context = new FakeTargetContext(512, sink);
        Target linear = type.create(context, context.args("linear", "/dev/disk 100"));
        Bio request = Bio.read(0, ByteBuffer.allocate(512), s -> { });
        for (int i = 0; i < 200_000; i++) linear.map(request); // warm up; completing twice is ignored
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        int n = 100_000;
        for (int i = 0; i < n; i++) linear.map(request);
        long perRequest = (threads.getThreadAllocatedBytes(tid) - before) / n;
        // measured: 64 bytes, a child Bio (48) and its forwarding completion (16)
        assertTrue(perRequest <= 96, perRequest + " bytes allocated per request");
    }

    @Test
    void statusLines() {
        Target linear = create(512, "/dev/disk 384");
        assertEquals("", linear.status(StatusType.INFO));
        assertEquals("/dev/disk 384", linear.status(StatusType.TABLE));
    }

    @Test
    void leadingZerosAreReadAsTheKernelReadsThem() {
        assertEquals("/dev/disk 7", create(8, "/dev/disk 007").status(StatusType.TABLE));
        assertEquals("/dev/disk 0", create(8, "/dev/disk 000").status(StatusType.TABLE));
        assertEquals("/dev/disk 12", create(8, "/dev/disk 0000000000000000000000012").status(StatusType.TABLE));
    }

    @Test
    void aReferenceWithASpaceIsEscapedInTheTable() {
        Target linear = create(8, "/tmp/a\\ b 0");
        assertEquals("/tmp/a\\ b 0", linear.status(StatusType.TABLE));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                        | linear: not enough arguments: missing device",
            "/dev/disk                 | linear: not enough arguments: missing offset",
            "/dev/disk 12x             | linear: invalid offset '12x'",
            "/dev/disk -1              | linear: invalid offset '-1'",
            "/dev/disk +5              | linear: invalid offset '+5'",
            "/dev/disk 0x10            | linear: invalid offset '0x10'",
            "/dev/disk 9223372036854775808 | linear: invalid offset '9223372036854775808'",
            "/dev/disk 00000000000000000000009223372036854775808 | linear: invalid offset '00000000000000000000009223372036854775808'",
            "/dev/disk 18446744073709551616 | linear: invalid offset '18446744073709551616'",
            "/dev/disk 0 extra         | linear: too many arguments: unexpected 'extra'",
            "/dev/nope 0               | linear: '/dev/nope': no such device",
            "/dev/disk 1000            | linear: device '/dev/disk' too small: offset 1000 + length 512 > size 1024 sectors",
            "/dev/disk 9223372036854775807 | linear: device '/dev/disk' too small: offset 9223372036854775807 + length 512 > size 1024 sectors",
    })
    void refusesBadArguments(String words, String error) {
        TableException e = assertThrows(TableException.class, () -> create(512, words));
        assertEquals(error, e.getMessage());
    }

    @Test
    void aMissingDeviceIsENODEV() {
        TableException e = assertThrows(TableException.class, () -> create(512, "/dev/nope 0"));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(disk.requests().isEmpty());
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    @Test
    void allocationIsTheDevicesFromTheOffset() {
        disk.holes(100, 20).holes(300, 10);
        Target linear = create(512, "/dev/disk 90");
        assertEquals(List.of(new Extent(0, 10, Extent.Kind.DATA), new Extent(10, 20, Extent.Kind.HOLE),
                new Extent(30, 180, Extent.Kind.DATA), new Extent(210, 10, Extent.Kind.HOLE), new Extent(220, 5, Extent.Kind.DATA)),
                linear.allocation(0, 225));
        assertEquals(List.of(new Extent(15, 5, Extent.Kind.HOLE)), linear.allocation(15, 5));
    }
}
