package org.ddmapper.api.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.util.List;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.TargetStatus;
import org.junit.jupiter.api.Test;

/** The mirror view from status and table lines: every shape of log and features, and lines that are not a mirror's. */
class MirrorTextTest {

    /** A manager with one device "m" whose live table is {@code table} and status {@code status}. */
    private static DeviceManager manager(List<TargetStatus> table, List<TargetStatus> status) {
        DeviceInfo info = new DeviceInfo(7, "m", false, 0, 0, true, false, 2048, false, table.size(), 0, null);
        return (DeviceManager) Proxy.newProxyInstance(MirrorTextTest.class.getClassLoader(), new Class<?>[] {DeviceManager.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "list" -> List.of(info);
                    case "info" -> info;
                    case "table" -> table;
                    case "status" -> status;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void aDiskLogWithEveryFeatureAndAFailedLeg() {
        String text = MirrorText.render(manager(
                List.of(new TargetStatus(0, 64, "linear", "/x 0"),
                        new TargetStatus(64, 2048, "mirror", "disk 4 /l\\ og 512 nosync block_on_error 3 /a 0 /b 8 /c 16 2 handle_errors keep_log")),
                List.of(new TargetStatus(0, 64, "linear", ""),
                        new TargetStatus(64, 2048, "mirror", "3 /a /b /c 3/4 1 ASR 3 disk /l\\ og F"))), null);
        assertEquals("""
                m (dm:m) mirror 64+2048: 3 legs, disk log /l og (flush failed), regions of 512 sectors, nosync, block_on_error, handle_errors, keep_log
                  3/4 regions in sync (75%)
                  |- leg 0 A /a 0
                  |- leg 1 S /b 8 (copy failed)
                  `- leg 2 R /c 16 (read failed)
                """, text);
    }

    @Test
    void linesThatAreNotAMirrorsSaySo() {
        String text = MirrorText.render(manager(List.of(new TargetStatus(0, 2048, "mirror", "core 1 1024 2 /a 0 /b 0")),
                List.of(new TargetStatus(0, 2048, "mirror", "waiting for target type 'mirror'"))), null);
        assertEquals("m (dm:m) mirror 0+2048: status not readable as a mirror's: waiting for target type 'mirror'\n", text);
    }

    @Test
    void noMirrorsAndMistakes() {
        DeviceManager linear = manager(List.of(new TargetStatus(0, 64, "linear", "/x 0")), List.of(new TargetStatus(0, 64, "linear", "")));
        assertEquals(MirrorText.NO_MIRRORS, MirrorText.render(linear, null));
        assertEquals("device 'm' has no mirror target", assertThrows(DmException.class, () -> MirrorText.render(linear, DeviceRef.of("m")))
                .getMessage());
        assertNull(MirrorText.parse(List.of()));
        assertEquals(DeviceRef.of("m"), MirrorText.parse(List.of("m")));
        DmException e = assertThrows(DmException.class, () -> MirrorText.parse(List.of("-ll")));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("mirror: unexpected '-ll' (usage: mirror [NAME])", e.getMessage());
    }
}
