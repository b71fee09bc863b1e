package org.ddmapper.targets.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ErrorTypeTest {
    private final MemoryDevice disk = new MemoryDevice("/dev/disk", 256);
    private final FakeTargetContext context = new FakeTargetContext(128, disk);

    private Target create(String words) {
        return new ErrorType().create(context, context.args("error", words));
    }

    @Test
    void everyKindOfRequestFailsWithEio() {
        Target error = create("/dev/disk 64");
        List<Bio> requests = List.of(
                Bio.read(0, ByteBuffer.allocate(512), new Completion()),
                Bio.write(3, ByteBuffer.allocate(1024), Bio.FUA, new Completion()),
                Bio.flush(new Completion()),
                Bio.discard(0, 128, new Completion()),
                Bio.writeZeroes(5, 5, 0, new Completion()));
        for (Bio bio : requests) {
            Completion done = new Completion();
            error.map(bio.withCompletion(done));
            assertEquals(IoStatus.error(Errno.EIO, "error target: every I/O fails"), done.get(), bio.toString());
        }
        assertEquals(List.of(), disk.requests(), "nothing reaches the named device");
    }

    @Test
    void takesNoFlushesAndPrintsNothingAsLinux61() {
        assertEquals(Set.of(TargetFeature.NO_FLUSH), new ErrorType().features());
        assertEquals("", create("").status(StatusType.TABLE));
        assertEquals("", create("").status(StatusType.INFO));
        assertEquals("", create("/dev/disk 64").status(StatusType.TABLE), "6.1 ignores the arguments and prints none back");
    }

    @Test
    void ignoresWhateverArgumentsItIsGivenAndOpensNothing() {
        for (String words : List.of("/dev/disk", "/dev/disk 1x", "/dev/disk 0 extra", "/dev/nope 0", "foo bar baz")) {
            Target error = create(words);
            assertEquals("", error.status(StatusType.TABLE), words);
        }
        assertEquals(List.of(), disk.requests());
    }
}
