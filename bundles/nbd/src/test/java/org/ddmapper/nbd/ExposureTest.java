package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Map;
import org.ddmapper.nbd.internal.HostPort;
import org.ddmapper.nbd.internal.ServerTls;
import org.junit.jupiter.api.Test;

/** Plain text stays on loopback unless the insecure flag says otherwise; TLS settings are checked with a reason. */
class ExposureTest {

    @Test
    void plainTextBeyondLoopbackIsRefusedWithAReason() {
        IOException e = assertThrows(IOException.class,
                () -> NbdServerComponent.checkExposure(HostPort.parse("0.0.0.0:10809"), ServerTls.OFF, false));
        assertTrue(e.getMessage().startsWith("refusing to serve NBD in plain text beyond loopback"), e.getMessage());
        assertTrue(e.getMessage().contains("ddmapper.nbd.insecure=true"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }

    @Test
    void loopbackAndTheInsecureFlagAreAllowed() {
        assertDoesNotThrow(() -> NbdServerComponent.checkExposure(HostPort.parse("127.0.0.1:0"), ServerTls.OFF, false));
        assertDoesNotThrow(() -> NbdServerComponent.checkExposure(HostPort.parse("[::1]:0"), ServerTls.OFF, false));
        assertDoesNotThrow(() -> NbdServerComponent.checkExposure(HostPort.parse("0.0.0.0:0"), ServerTls.OFF, true));
    }

    @Test
    void badTlsSettingsNameTheProperty() {
        IllegalArgumentException mode = assertThrows(IllegalArgumentException.class,
                () -> ServerTls.fromProperties(Map.of("ddmapper.nbd.tls", "maybe")::get));
        assertEquals("ddmapper.nbd.tls: expected off, on or require; got 'maybe'", mode.getMessage());
        IllegalArgumentException dir = assertThrows(IllegalArgumentException.class,
                () -> ServerTls.fromProperties(Map.of("ddmapper.nbd.tls", "require")::get));
        assertTrue(dir.getMessage().contains("needs ddmapper.nbd.tls.certificates"), dir.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> ServerTls.fromProperties(Map.of("ddmapper.nbd.tls", "on",
                        "ddmapper.nbd.tls.certificates", "/nonexistent-ddmapper-certs")::get));
        assertTrue(missing.getMessage().contains("not a directory of TLS certificates"), missing.getMessage());
        assertEquals(ServerTls.OFF, ServerTls.fromProperties(Map.<String, String>of()::get));
    }
}
