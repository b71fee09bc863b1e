package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stores the real kernel wrote (tests/kernel/snapshot/make-images.sh, committed compressed),
 * against ddmapper: the same scenario replayed by ddmapper from the same origin writes a COW device
 * identical byte for byte to the kernel's and prints the same status lines; ddmapper activating
 * the kernel's COW shows the snapshot the kernel showed, byte for byte; overflowed stores too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class KernelStoresTest {
    @TempDir Path dir;
    EmbeddedFramework fw;
    DeviceManager dm;

    @BeforeAll
    void start() {
        fw = EmbeddedFramework.start();
        dm = fw.service(DeviceManager.class);
        Waits.awaitTypes(dm, "snapshot-origin", "snapshot", "snapshot-merge");
    }

    @AfterAll
    void stop() {
        if (fw != null) fw.close();
    }

    private Path blank(String name, long bytes) throws Exception {
        Path p = dir.resolve(name);
        try (var f = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
        }
        return p;
    }

    @Test
    void replayingTheKernelsScenarioWritesTheSameCowByteForByte() throws Exception {
        Path origin = KernelImages.image("origin", dir);
        Path cow = blank("a-cow-ddmapper.img", 2 << 20);
        List<String> ours = Scenario.load("scenario-a.txt").replay(dm, origin, cow);
        List<String> kernel = KernelImages.lines("a");
        assertEquals(kernel.subList(0, 6), ours, "status and table lines after each activation");
        assertArrayEquals(Files.readAllBytes(KernelImages.image("a-cow", dir)), Files.readAllBytes(cow),
                "the COW device, header, both metadata areas and every data chunk");
        assertArrayEquals(Files.readAllBytes(KernelImages.image("a-origin", dir)), Files.readAllBytes(origin), "the origin after the writes");
    }

    @Test
    void theKernelsStoreActivatedByDdmapperShowsTheKernelsSnapshot() throws Exception {
        Path origin = KernelImages.image("a-origin", dir);
        Path cow = KernelImages.image("a-cow", dir);
        byte[] view = Files.readAllBytes(KernelImages.image("a-view", dir));
        dm.create("kview", "0 8192 snapshot " + origin + " " + cow + " P 8");
        try (BlockDevice s = dm.open(DeviceRef.of("kview"))) {
            assertArrayEquals(view, Io.read(s, 0, view.length), "the snapshot, byte for byte as the kernel read it");
            List<String> kernel = KernelImages.lines("a");
            assertEquals(kernel.get(kernel.size() - 1), "status: " + Scenario.status(dm, "kview"));
        } finally {
            dm.remove(DeviceRef.of("kview"), true);
        }
    }

    @Test
    void overflowedStoresMatchTheKernelsInBothModes() throws Exception {
        for (String mode : List.of("P", "PO")) {
            Path origin = KernelImages.image("origin", dir.resolve(mkdir(mode)));
            Path cow = blank(mode + "/cow.img", 64 << 10);
            List<String> ours = Scenario.load("scenario-c-" + mode + ".txt").replay(dm, origin, cow);
            assertEquals(KernelImages.lines("c-" + mode), ours, mode + ": the kernel's status lines (usage, Overflow, Invalid)");
            Path kernelCow = KernelImages.image("c-" + mode + "-cow", dir.resolve(mode));
            assertArrayEquals(Files.readAllBytes(kernelCow), Files.readAllBytes(cow), mode + ": the COW, invalid flag included");
            dm.create("kinv", "0 8192 snapshot " + origin + " " + kernelCow + " " + mode + " 8");
            assertEquals("0 8192 snapshot Invalid", Scenario.status(dm, "kinv"), mode + ": the kernel's invalidated store is invalid here");
            dm.remove(DeviceRef.of("kinv"), true);
        }
    }

    private String mkdir(String name) throws Exception {
        Files.createDirectories(dir.resolve(name));
        return name;
    }
}
