package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.TableLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
    @TempDir Path dir;

    @Test
    void roundTripsDevicesWithBothSlotsAndEscapedWords() throws Exception {
        StateStore store = new StateStore(dir.resolve("state"));
        var a = new StateStore.DeviceRecord(3, "a", List.of(TableLine.parse("0 8 linear /x\\ y.img 0")), null);
        var b = new StateStore.DeviceRecord(5, "b", List.of(TableLine.parse("0 8 linear dm:a 0"), TableLine.parse("8 8 zero")),
                List.of(TableLine.parse("0 16 zero")));
        var c = new StateStore.DeviceRecord(6, "c", null, null);
        store.save(new StateStore.Snapshot(7, List.of(a, b, c)));
        assertFalse(Files.exists(dir.resolve("state").resolve("devices.state.new")), "the temporary file was renamed");
        StateStore.Snapshot back = store.load();
        assertEquals(7, back.nextId());
        assertEquals(List.of(a, b, c), back.devices());
        assertEquals("/x y.img", back.devices().get(0).live().get(0).args().get(0));
    }

    @Test
    void aMissingFileIsAnEmptySet() {
        StateStore.Snapshot s = new StateStore(dir.resolve("none")).load();
        assertEquals(List.of(), s.devices());
    }

    @Test
    void aDamagedFileIsMovedAsideNotTrusted() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Files.writeString(state.resolve("devices.state"), "ddmapper-state 1\ndevice 1 a\nlive\n0 8 linear /x 0\n");
        StateStore.Snapshot s = new StateStore(state).load();
        assertEquals(List.of(), s.devices());
        assertFalse(Files.exists(state.resolve("devices.state")));
        try (var list = Files.list(state)) {
            assertTrue(list.anyMatch(p -> p.getFileName().toString().startsWith("devices.state.damaged-")));
        }
    }

    @Test
    void aDamagedFileFallsBackToTheLastGoodCopy() throws Exception {
        Path state = dir.resolve("state");
        StateStore store = new StateStore(state);
        var a = new StateStore.DeviceRecord(3, "a", List.of(TableLine.parse("0 8 zero")), null);
        store.save(new StateStore.Snapshot(4, List.of(a)));
        assertEquals(Files.readString(store.file()), Files.readString(state.resolve("devices.state.bak")), "the copy is the state");
        Files.writeString(store.file(), "ddmapper-state 1\ndevice 3 a\nlive\n0 8 zero\n");   // cut short: no end
        StateStore.Snapshot back = store.load();
        assertEquals(List.of(a), back.devices());
        assertEquals(4, back.nextId());
        try (var list = Files.list(state)) {
            assertTrue(list.anyMatch(p -> p.getFileName().toString().startsWith("devices.state.damaged-")));
        }
        Files.writeString(state.resolve("devices.state.bak"), "junk");
        Files.writeString(store.file(), "junk");
        assertEquals(List.of(), store.load().devices(), "both damaged: no devices");
    }

    @Test
    void aMissingMainFileIsAResetEvenWithACopy() throws Exception {
        StateStore store = new StateStore(dir.resolve("state"));
        store.save(new StateStore.Snapshot(4, List.of(new StateStore.DeviceRecord(3, "a", null, null))));
        Files.delete(store.file());
        assertEquals(List.of(), store.load().devices());
    }

    @Test
    void aFailedSaveThrowsNamingTheFileAndKeepsTheOldState() throws Exception {
        Path state = dir.resolve("state");
        StateStore store = new StateStore(state);
        var a = new StateStore.DeviceRecord(3, "a", null, null);
        store.save(new StateStore.Snapshot(4, List.of(a)));
        Files.createDirectory(state.resolve("devices.state.new"));
        var e = assertThrows(java.io.IOException.class, () -> store.save(new StateStore.Snapshot(5, List.of())));
        assertEquals("is a directory: " + state.resolve("devices.state.new"), StateStore.describe(e));
        assertEquals(List.of(a), store.load().devices());
    }

    @Test
    void parseErrorsNameTheLine() {
        var e = assertThrows(org.ddmapper.api.DmException.class,
                () -> StateStore.parse(List.of("ddmapper-state 1", "device 1 a", "live", "0 8x linear /x 0", "end")));
        assertEquals("line 4: invalid length '8x'", e.getMessage());
        var magic = assertThrows(org.ddmapper.api.DmException.class, () -> StateStore.parse(List.of("something else")));
        assertEquals("line 1: expected 'ddmapper-state 1'", magic.getMessage());
    }

    @Test
    void idsWithoutRoomToCountUpAreRefused() {
        org.ddmapper.api.DmException e = assertThrows(org.ddmapper.api.DmException.class,
                () -> StateStore.parse(List.of("ddmapper-state 1", "device 9223372036854775807 big", "end")));
        assertEquals("line 2: number 9223372036854775807 above 4611686018427387903", e.getMessage());
    }
}
