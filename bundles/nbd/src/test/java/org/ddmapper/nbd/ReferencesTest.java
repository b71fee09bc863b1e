package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.nbd.internal.HostPort;
import org.ddmapper.nbd.internal.NbdUri;
import org.junit.jupiter.api.Test;

/** Parsing of NBD references and listen addresses, with the errors a user sees. */
class ReferencesTest {

    @Test
    void nbdUris() {
        NbdUri a = NbdUri.parse("nbd://10.0.0.7:10810/lun%201");
        assertEquals("10.0.0.7", a.host());
        assertEquals(10810, a.port());
        assertEquals("lun 1", a.export());
        assertNull(a.socket());
        NbdUri b = NbdUri.parse("nbd://server/");
        assertEquals(10809, b.port());
        assertEquals("", b.export());
        NbdUri v6 = NbdUri.parse("nbd://[::1]:10809/x");
        assertEquals("::1", v6.host());
        NbdUri u = NbdUri.parse("nbd+unix:///disk?socket=/run/nbd.sock&size=1048576");
        assertEquals(Path.of("/run/nbd.sock"), u.socket());
        assertEquals("disk", u.export());
        assertEquals(1048576, u.sizeBytes());
        assertEquals(-1, NbdUri.parse("nbd://h/x").sizeBytes());
        NbdUri f = NbdUri.parse("nbd+unix:///disk?size=1048576&socket=/run/nbd.sock&flags=0x4d");
        assertEquals(0x4d, f.flags());
        assertEquals("nbd+unix:///disk?socket=/run/nbd.sock", f.baseReference());
        assertEquals(77, NbdUri.parse("nbd://h/x?flags=77").flags());
        assertEquals(-1, NbdUri.parse("nbd://h/x").flags());
        assertEquals("nbd://h/x", NbdUri.parse("nbd://h/x?flags=1&size=512").baseReference());
    }

    @Test
    void badNbdUrisNameWhatIsWrong() {
        String[][] cases = {
            {"nbd:///x", "no host"},
            {"nbd://h/x?flags=0x10000", "flags '0x10000' are not 16-bit transmission flags"},
            {"nbd://h/x?flags=rw", "flags 'rw' are not 16-bit transmission flags"},
            {"nbd+unix:///x", "no socket=PATH"},
            {"nbd+unix://host/x?socket=/s", "takes no host"},
            {"nbd://h/x?socket=/s", "belongs to nbd+unix"},
            {"nbd://h/x?timeout=3", "unknown parameter 'timeout'"},
            {"nbd://h/x?size=1000", "512-byte sectors"},
            {"http://h/x", "is not nbd, nbds, nbd+unix or nbds+unix"},
            {"nbd://h x/", "not a URI"},
        };
        for (String[] c : cases) {
            DmException e = assertThrows(DmException.class, () -> NbdUri.parse(c[0]), c[0]);
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().startsWith("invalid NBD reference '" + c[0] + "'"), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }

    @Test
    void listenAddresses() {
        assertEquals(new HostPort("127.0.0.1", 10809), HostPort.parse("127.0.0.1:10809"));
        assertEquals(new HostPort("::1", 0), HostPort.parse("[::1]:0"));
        assertEquals("[::1]:0", HostPort.parse("[::1]:0").toString());
        for (String bad : new String[] {"10809", "host:", ":80", "::1:80", "h:65536", "h:8x"}) {
            assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad), bad);
        }
    }
}
