package org.ddmapper.api.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.api.TargetStatus;
import org.junit.jupiter.api.Test;

class MultipathTextTest {
    /** A device: its table's target types, and what each target answers to "show WHAT". */
    private record Dev(long id, String name, List<String> types, Map<String, String> answers, DmException failure) {}

    private final Map<Long, Dev> devices = new LinkedHashMap<>();
    private final List<String> sent = new ArrayList<>();
    /** A device that disappears when its message arrives (removed while the view is composed). */
    private long vanishing = -1;

    private void add(long id, String name, List<String> types, String topology, String paths) {
        devices.put(id, new Dev(id, name, types, Map.of("topology", topology, "paths", paths), null));
    }

    private Dev find(DeviceRef ref) {
        for (Dev d : devices.values())
            if ((ref instanceof DeviceRef.Instance i && i.id() == d.id) || ref.toString().equals(d.name)) return d;
        throw new DmException(Errno.ENXIO, "no device named '" + ref + "'");
    }

    private final DeviceManager manager = (DeviceManager) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {DeviceManager.class}, (proxy, method, args) -> switch (method.getName()) {
                case "list" -> devices.values().stream().map(d -> info(d)).toList();
                case "info" -> info(find((DeviceRef) args[0]));
                case "table" -> {
                    Dev d = find((DeviceRef) args[0]);
                    List<TargetStatus> lines = new ArrayList<>();
                    for (int i = 0; i < d.types.size(); i++) lines.add(new TargetStatus(i * 8L, 8, d.types.get(i), "args"));
                    yield lines;
                }
                case "message" -> {
                    Dev d = find((DeviceRef) args[0]);
                    Message m = (Message) args[2];
                    sent.add(d.name + " @" + ((TargetRef.ByIndex) args[1]).index() + " " + String.join(" ", m.words()));
                    if (d.id == vanishing) {
                        devices.remove(d.id);
                        throw new DmException(Errno.ENXIO, "no device named '" + d.name + "'");
                    }
                    if (d.failure != null) throw d.failure;
                    yield d.answers.get(m.words().get(1));
                }
                default -> throw new UnsupportedOperationException(method.getName());
            });

    private static DeviceInfo info(Dev d) {
        return new DeviceInfo(d.id, d.name, false, 0, 0, true, false, 8L * d.types.size(), false, d.types.size(), 0, null);
    }

    private static String topo(String name) {
        return name + " (dm:" + name + ") multipath\nsize=4K features='0' hwhandler='0' wp=rw queued=0\n"
                + "`-+- policy='round-robin 0' group=1 status=active\n  `- 1 /p/" + name + " active ready directio fail=0\n";
    }

    @Test
    void topologyConcatenatesEveryMultipathMapAndSkipsOtherDevices() {
        add(1, "mpa", List.of("multipath"), topo("mpa"), "");
        add(2, "lin", List.of("linear"), "", "");
        add(3, "mpb", List.of("multipath"), topo("mpb"), "");
        assertEquals(topo("mpa") + topo("mpb"), MultipathText.topology(manager, null));
        assertEquals(List.of("mpa @0 show topology", "mpb @0 show topology"), sent, "the linear device gets no message");
        assertEquals(topo("mpb"), MultipathText.topology(manager, DeviceRef.of("mpb")));
    }

    @Test
    void eachMultipathTargetOfATableIsAskedByIndex() {
        add(1, "two", List.of("linear", "multipath", "multipath"), topo("two"), "");
        MultipathText.topology(manager, null);
        assertEquals(List.of("two @1 show topology", "two @2 show topology"), sent);
    }

    @Test
    void pathsAreOneTableUnderOneHeaderRealignedOverEveryMap() {
        add(1, "mpa", List.of("multipath"), "", """
                map path dev  group dm_st  chk_st checker  failures next_check reason
                mpa 1    /p/a 1     active ready  directio 0        1s         -
                """);
        add(2, "mpatha_long", List.of("multipath"), "", """
                map         path dev                 group dm_st  chk_st checker  failures next_check reason
                mpatha_long 1    /p/with space/b     1     active ready  directio 0        1s         -
                mpatha_long 2    nbd://127.0.0.1:1/x 2     failed faulty directio 12       3s         read failed: EIO (5)
                """);
        assertEquals("""
                map         path dev                 group dm_st  chk_st checker  failures next_check reason
                mpa         1    /p/a                1     active ready  directio 0        1s         -
                mpatha_long 1    /p/with space/b     1     active ready  directio 0        1s         -
                mpatha_long 2    nbd://127.0.0.1:1/x 2     failed faulty directio 12       3s         read failed: EIO (5)
                """, MultipathText.paths(manager, null));
    }

    @Test
    void aMapThatCannotAnswerSaysWhyAndARemovedOneIsSkipped() {
        add(1, "mpa", List.of("multipath"), topo("mpa"), "");
        devices.put(2L, new Dev(2, "parked", List.of("multipath"), Map.of(), new DmException(Errno.ENXIO,
                "device 'parked' waits for target type 'multipath'")));
        add(3, "gone", List.of("multipath"), topo("gone"), "");
        vanishing = 3;
        assertEquals(topo("mpa") + "parked (dm:parked) multipath: device 'parked' waits for target type 'multipath'\n",
                MultipathText.topology(manager, null));
    }

    @Test
    void noMapsAndANamedDeviceWithoutMultipath() {
        assertEquals(MultipathText.NO_MAPS, MultipathText.topology(manager, null));
        assertEquals(MultipathText.NO_MAPS, MultipathText.paths(manager, null));
        add(2, "lin", List.of("linear"), "", "");
        assertEquals(MultipathText.NO_MAPS, MultipathText.paths(manager, null));
        DmException e = assertThrows(DmException.class, () -> MultipathText.topology(manager, DeviceRef.of("lin")));
        assertEquals("device 'lin' has no multipath target", e.getMessage());
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals(Errno.ENXIO, assertThrows(DmException.class, () -> MultipathText.paths(manager, DeviceRef.of("nosuch"))).errno());
    }

    @Test
    void commandLinesParse() {
        assertEquals(new MultipathText.Request(false, null), MultipathText.parse(List.of()));
        assertEquals(new MultipathText.Request(false, null), MultipathText.parse(List.of("-ll")));
        assertEquals(new MultipathText.Request(false, "mpa"), MultipathText.parse(List.of("-l", "mpa")));
        assertEquals(new MultipathText.Request(false, null), MultipathText.parse(List.of("show", "topology")));
        assertEquals(new MultipathText.Request(false, null), MultipathText.parse(List.of("show", "maps", "topology")));
        assertEquals(new MultipathText.Request(true, null), MultipathText.parse(List.of("show", "paths")));
        assertEquals(new MultipathText.Request(true, "mpb"), MultipathText.parse(List.of("show", "paths", "mpb")));
        assertEquals(new MultipathText.Request(false, "mpb"), MultipathText.parse(List.of("mpb")));
        assertNull(MultipathText.parse(List.of("show", "paths")).name());
        assertEquals("multipath show: unknown view 'daemon' (expected topology or paths)",
                assertThrows(DmException.class, () -> MultipathText.parse(List.of("show", "daemon"))).getMessage());
        assertTrue(assertThrows(DmException.class, () -> MultipathText.parse(List.of("-f", "x"))).getMessage()
                .startsWith("multipath: unknown option '-f'"));
        assertTrue(assertThrows(DmException.class, () -> MultipathText.parse(List.of("a", "b"))).getMessage()
                .startsWith("multipath: unexpected 'b'"));
        assertEquals("multipath show: expected topology or paths",
                assertThrows(DmException.class, () -> MultipathText.parse(List.of("show"))).getMessage());
    }
}
