package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TargetStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;

/** Device state across framework restarts, and boot tables. */
@Timeout(90)
class PersistenceTest {
    @TempDir Path dir;

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    /** Waits until the device is up (restored devices wait for their target types first). */
    static DeviceInfo awaitLive(DeviceManager dm, String name) {
        Waits.await(name + " live", () -> dm.list().stream().anyMatch(i -> i.name().equals(name) && !i.suspended() && i.liveTable()));
        return dm.info(ref(name));
    }

    @Test
    void restartBringsBackDevicesBothSlotsAndStacksInOrder() throws Exception {
        Path home = dir.resolve("home");
        Path f = dir.resolve("p.img");
        Files.write(f, new byte[2048 * 512]);
        DeviceInfo base, top;
        List<TargetStatus> topInactive;
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, "linear");
            base = dm.create("p-base", "0 2048 linear " + f + " 0");
            top = dm.create("p-top", "0 1024 linear dm:p-base 100");
            dm.load(ref("p-top"), "0 512 linear dm:p-base 1000");
            topInactive = dm.table(ref("p-top"), true);
            dm.create("p-solo-old", "0 8 linear " + f + " 2000");
            dm.rename(ref("p-solo-old"), "p-solo");
            dm.create("p-gone", "0 8 linear " + f + " 2000");
            dm.remove(ref("p-gone"), false);
            try (var dev = dm.open(ref("p-top"))) {
                assertTrue(Io.write(dev, 5, Io.filled(1, 0x42)).isOk());
            }
        }
        String state = Files.readString(home.resolve("state").resolve("devices.state"));
        assertTrue(state.contains("device " + top.id() + " p-top"), state);

        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            DeviceInfo top2 = awaitLive(dm, "p-top");
            DeviceInfo base2 = awaitLive(dm, "p-base");
            assertEquals(top.id(), top2.id(), "ids survive");
            assertEquals(base.id(), base2.id());
            assertEquals("LIVE & INACTIVE", top2.tablesPresent());
            assertEquals(topInactive, dm.table(ref("p-top"), true));
            assertEquals(2, base2.openCount(), "the stack was rebuilt: both slots of p-top open p-base");
            for (String n : List.of("p-base", "p-top", "p-solo")) {
                // a restore is no upgrade: the table goes live as a resume would make it, no BUNDLE_SWAPPED
                Waits.await(n + " resumed", () -> dm.events(ref(n), 0).stream().anyMatch(e -> e.kind() == EventKind.RESUMED));
                assertEquals(List.of(EventKind.TABLE_LIVE, EventKind.RESUMED), dm.events(ref(n), 0).stream().map(DeviceEvent::kind).toList(),
                        n + ": " + dm.events(ref(n), 0));
            }
            assertEquals(Map.of("targets", "1", "size", "1024"), dm.events(ref("p-top"), 0).get(0).details());
            assertEquals(List.of("p-base", "p-solo", "p-top"), dm.list().stream().map(DeviceInfo::name).toList());
            try (var dev = dm.open(ref("p-top"))) {
                assertArrayEquals(Io.filled(1, 0x42), Io.read(dev, 5, 512));
            }
            DeviceInfo fresh = dm.create("p-new", "");
            assertTrue(fresh.id() > top.id(), "ids are never reused");
            dm.remove(ref("p-top"), false);
        }
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            awaitLive(dm, "p-base");
            assertEquals(List.of("p-base", "p-new", "p-solo"), dm.list().stream().map(DeviceInfo::name).toList());
            assertEquals(0, dm.info(ref("p-base")).openCount());
        }
    }

    @Test
    void aVerbWhoseStateCannotBeSavedTellsTheCallerAndTheChangeStands() throws Exception {
        Path home = dir.resolve("home");
        Path f = dir.resolve("s.img");
        Files.write(f, new byte[64 * 512]);
        Path state = home.resolve("state");
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, "linear");
            dm.create("s-kept", "0 8 linear " + f + " 0");
            // the core runs as root in CI, so a mode cannot stop it: a directory where the new file goes does
            Files.createDirectory(state.resolve("devices.state.new"));
            DmException e = assertThrows(DmException.class, () -> dm.create("s-unsaved", "0 8 linear " + f + " 8"));
            assertEquals(Errno.EIO, e.errno());
            assertEquals("device 's-unsaved' was created, but the device state could not be saved to " + state.resolve("devices.state")
                    + " (is a directory: " + state.resolve("devices.state.new") + "); a restart would not bring this change back", e.getMessage());
            assertTrue(dm.info(ref("s-unsaved")).liveTable(), "the change stands, as in the kernel");
            DmException rename = assertThrows(DmException.class, () -> dm.rename(ref("s-kept"), "s-moved"));
            assertTrue(rename.getMessage().startsWith("device 's-kept' was renamed to 's-moved', but the device state could not be saved to "),
                    rename.getMessage());
            assertTrue(fw.log().contains("device 's-unsaved' was created, but the device state could not be saved"), fw.log());
            Files.delete(state.resolve("devices.state.new"));
            dm.rename(ref("s-moved"), "s-saved");
        }
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            awaitLive(dm, "s-saved");
            awaitLive(dm, "s-unsaved");
            assertEquals(List.of("s-saved", "s-unsaved"), dm.list().stream().map(DeviceInfo::name).sorted().toList());
        }
    }

    @Test
    void aDamagedStateFileIsMovedAsideAndTheLastGoodCopyRestored() throws Exception {
        Path home = dir.resolve("home");
        Path f = dir.resolve("d.img");
        Files.write(f, new byte[64 * 512]);
        Path state = home.resolve("state");
        long id;
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            Waits.awaitTypes(dm, "linear");
            id = dm.create("d-vol", "0 16 linear " + f + " 0").id();
            dm.load(ref("d-vol"), "0 8 linear " + f + " 8");
        }
        assertEquals(Files.readString(state.resolve("devices.state")), Files.readString(state.resolve("devices.state.bak")));
        Files.writeString(state.resolve("devices.state"), "ddmapper-state 1\ndevice " + id + " d-vol\nlive\n0 16 linear");
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            DeviceInfo back = awaitLive(dm, "d-vol");
            assertEquals(id, back.id());
            assertEquals("LIVE & INACTIVE", back.tablesPresent());
            assertEquals("0 8 linear " + f + " 8", dm.table(ref("d-vol"), true).get(0).toString());
            String log = fw.log();
            assertTrue(log.lines().anyMatch(l -> l.contains(" ERROR ") && l.contains("is damaged")
                    && l.contains("restoring the last good copy " + state.resolve("devices.state.bak") + " (1 devices)")), log);
            try (var list = Files.list(state)) {
                assertTrue(list.anyMatch(p -> p.getFileName().toString().startsWith("devices.state.damaged-")));
            }
            assertTrue(Files.readString(state.resolve("devices.state")).contains("device " + id + " d-vol"), "saved again at start");
        }
    }

    @Test
    void bootTablesComeUpAndABadOneIsOneClearLogLine() throws Exception {
        Path home = dir.resolve("home");
        Path etc = dir.resolve("etc");
        Files.createDirectories(home.resolve("data"));
        Files.write(home.resolve("data").resolve("demo.img"), new byte[2048 * 512]);
        Path tables = Files.createDirectories(etc.resolve("tables"));
        Files.writeString(tables.resolve("demo.table"), "# the demo device\n0 2048 linear ${home}/data/demo.img 0\n");
        Files.writeString(tables.resolve("stacked.table"), "0 1024 linear dm:demo 1024\n");
        Files.writeString(tables.resolve("bad.table"), "# a comment\n\n0 100 linear ${home}/missing.img 0\n");
        Files.writeString(tables.resolve("gap.table"), "0 100 linear ${home}/data/demo.img 0\n200 100 linear ${home}/data/demo.img 0\n");
        Files.writeString(tables.resolve("notype.table"), "0 10 nosuchtype\n");
        Files.writeString(tables.resolve("bad name.table"), "0 10 linear ${home}/data/demo.img 0\n");
        Files.writeString(tables.resolve("ignored.txt"), "not a table");
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).etc(etc).property("ddmapper.core.typeWaitMillis", "1000").start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            DeviceInfo demo = awaitLive(dm, "demo");
            assertEquals(2048, demo.sizeSectors());
            Waits.await("demo resumed", () -> dm.events(ref("demo"), 0).stream().anyMatch(e -> e.kind() == EventKind.RESUMED));
            assertEquals(List.of(EventKind.TABLE_LIVE, EventKind.RESUMED), dm.events(ref("demo"), 0).stream().map(DeviceEvent::kind).toList(),
                    "a boot table's device raises no BUNDLE_SWAPPED: " + dm.events(ref("demo"), 0));
            awaitLive(dm, "stacked");
            Waits.await("notype dropped", () -> dm.list().stream().noneMatch(i -> i.name().equals("notype")));
            assertEquals(List.of("demo", "stacked"), dm.list().stream().map(DeviceInfo::name).toList());
            String log = fw.log();
            List<String> errors = log.lines().filter(l -> l.contains(" ERROR ")).toList();
            assertEquals(1, errors.stream().filter(l -> l.contains("bad.table")).count(), log);
            assertTrue(errors.stream().anyMatch(l -> l.endsWith("bad.table: line 3: linear: '" + home + "/missing.img': no such file or block device")), log);
            assertTrue(errors.stream().anyMatch(l -> l.endsWith("gap.table: line 2: gap in table: target starts at sector 200, expected 100")), log);
            assertTrue(errors.stream().anyMatch(l -> l.contains("notype.table: line 1: unknown target type 'nosuchtype'")), log);
            assertTrue(errors.stream().anyMatch(l -> l.contains("bad name.table: invalid device name 'bad\\ name'")), log);
            assertEquals(4, errors.size(), log);
        }
        // the saved state wins over a boot table of the same name
        Files.writeString(tables.resolve("demo.table"), "0 100 linear ${home}/data/demo.img 0\n");
        try (EmbeddedFramework fw = EmbeddedFramework.builder().home(home).etc(etc).property("ddmapper.core.typeWaitMillis", "1000").start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            assertEquals(2048, awaitLive(dm, "demo").sizeSectors());
        }
    }

    @Test
    void withoutAHomePropertyTheCoreStillStarts() throws Exception {
        try (EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.home", "").start()) {
            DeviceManager dm = fw.service(DeviceManager.class);
            dm.create("tmp", "");
            assertTrue(fw.log().contains("ddmapper.home is not set"), fw.log());
        }
    }
}
