package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stores ddmapper wrote, read by the real kernel (one VM boot for all of it):
 * (b) a PO store of three activations with origin and snapshot writes, a full metadata area and the
 * next one — the kernel shows the same snapshot byte for byte and prints the same status;
 * (c) a P store ddmapper invalidated by overflow — the kernel says Invalid;
 * (d) a merge — the kernel merging the same store leaves the same origin and the same COW as
 * ddmapper's merge did, byte for byte.
 */
@Timeout(1200)
class KernelReadsDdmapperTest {
    @TempDir Path dir;

    /** Scenario b: seeded, chunk 8 PO, ~300 chunks touched over three activations. */
    static Scenario scenarioB() {
        List<String> lines = new ArrayList<>(List.of("store PO 8"));
        Random rnd = new Random(2024);
        for (int act = 0; act < 3; act++) {
            lines.add("activate");
            for (int i = 0; i < 130; i++) {
                boolean snap = rnd.nextInt(8) == 0;
                boolean whole = snap && rnd.nextBoolean();
                int n = whole ? 8 : 1 + rnd.nextInt(12);
                long s = whole ? 8L * rnd.nextInt(1024) : rnd.nextInt(8192 - n);
                lines.add("write " + (snap ? "snap" : "origin") + " " + s + " " + n + " " + (1 + rnd.nextInt(250)));
            }
            lines.add("deactivate");
        }
        return Scenario.of(lines.toArray(String[]::new));
    }

    @Test
    void theKernelReadsDdmapperStoresAndMergesThemTheSame() throws Exception {
        Path origin = KernelImages.image("origin", dir);
        Path bOrigin = copy(origin, "b-origin.img");
        Path bCow = blank("b-cow.img", 2 << 20);
        Path cOrigin = copy(origin, "c-origin.img");
        Path cCow = blank("c-cow.img", 64 << 10);
        List<String> ours;
        byte[] view;
        Path mOrigin;
        Path mCow;
        try (EmbeddedFramework fw = EmbeddedFramework.start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, "snapshot-origin", "snapshot", "snapshot-merge");
            ours = scenarioB().replay(dm, bOrigin, bCow);
            assertTrue(ours.stream().noneMatch(l -> l.startsWith("write failed")), ours.toString());
            assertTrue(ours.get(ours.size() - 2).endsWith(" 24"), "metadata area 1 in use: " + ours);
            dm.create("bview", "0 8192 snapshot " + bOrigin + " " + bCow + " PO 8");
            try (BlockDevice s = dm.open(DeviceRef.of("bview"))) {
                view = Io.read(s, 0, 8192 * 512);
            }
            String viewStatus = Scenario.status(dm, "bview");
            dm.remove(DeviceRef.of("bview"), false);
            assertEquals(ours.get(ours.size() - 2), "status: " + viewStatus);

            Scenario.load("scenario-c-P.txt").replay(dm, cOrigin, cCow);

            // d: ddmapper merges a copy of b; the kernel will merge another copy
            mOrigin = copy(bOrigin, "m-origin.img");
            mCow = copy(bCow, "m-cow.img");
            dm.create("merging", "0 8192 snapshot-merge " + mOrigin + " " + mCow + " PO 8");
            Waits.await("the merge to complete", java.time.Duration.ofSeconds(120),
                    () -> dm.events(DeviceRef.of("merging"), 0).stream().anyMatch(e -> e.kind() == EventKind.SNAPSHOT_MERGE_COMPLETE));
            assertEquals("0 8192 snapshot-merge 16/4096 16", Scenario.status(dm, "merging"));
            dm.remove(DeviceRef.of("merging"), false);
        }
        Path dOrigin = copy(bOrigin, "d-origin.img");
        Path dCow = copy(bCow, "d-cow.img");
        Path bView = blank("b-view.img", 4 << 20);
        Path sc = Scenario.kernelDir().resolve("scenario.sh");
        String out = KernelVm.run("""
                f=/kdm/files
                printf 'store PO 8\\nview /dev/vdc\\n' > /tmp/b.txt
                echo "== b"; sh $f/scenario.sh /tmp/b.txt /dev/vda /dev/vdb
                echo "== c"; dmsetup create kc --table "0 8192 snapshot /dev/vdd /dev/vde P 8" && dmsetup status kc && dmsetup remove kc
                printf 'store PO 8\\nmerge\\n' > /tmp/d.txt
                echo "== d"; sh $f/scenario.sh /tmp/d.txt /dev/vdf /dev/vdg
                echo "== end"
                """, List.of(sc), List.of(bOrigin, bCow, bView, cOrigin, cCow, dOrigin, dCow));
        String b = section(out, "b");
        assertEquals("status: " + ours.get(ours.size() - 2).substring("status: ".length()), b.strip(),
                "the kernel's status of ddmapper's store; full output:\n" + out);
        assertArrayEquals(view, Files.readAllBytes(bView), "the kernel shows ddmapper's snapshot byte for byte");
        assertEquals("0 8192 snapshot Invalid", section(out, "c").strip(), "ddmapper's overflowed store is invalid for the kernel");
        assertEquals("status: 0 8192 snapshot-merge 16/4096 16", section(out, "d").strip(), "the kernel's merge ran to the end");
        assertArrayEquals(Files.readAllBytes(dOrigin), Files.readAllBytes(mOrigin), "ddmapper's merge left the origin the kernel's left");
        assertArrayEquals(view, Files.readAllBytes(mOrigin), "and that origin is the snapshot's view");
        assertArrayEquals(Files.readAllBytes(dCow), Files.readAllBytes(mCow), "and the same COW (entries zeroed, area by area)");
    }

    private static String section(String out, String name) {
        int from = out.indexOf("== " + name + "\n");
        assertTrue(from >= 0, "no section " + name + " in:\n" + out);
        from += name.length() + 4;
        int to = out.indexOf("== ", from);
        return out.substring(from, to < 0 ? out.length() : to);
    }

    private Path copy(Path from, String name) throws Exception {
        return Files.copy(from, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    private Path blank(String name, long bytes) throws Exception {
        Path p = dir.resolve(name);
        try (var f = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
        }
        return p;
    }
}
