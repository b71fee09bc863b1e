package org.ddmapper.it.web;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real appliance with {@code --http}: the first boot prints the generated password once on
 * stderr, a second boot of the same home does not; {@code /metrics} answers 401 without it and the
 * demo device's counters with it, moved by I/O ({@code ddsetup stats} shows the same requests);
 * {@code --http none} serves nothing.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ApplianceWebTest {
    @TempDir Path dir;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void thePasswordIsPrintedOnceAndMetricsNeedIt() throws Exception {
        Path home = dir.resolve("home");
        int port = freePort();
        String password;
        try (Appliance a = Appliance.builder().home(home).args("--http", "127.0.0.1:" + port).start()) {
            password = Files.readString(home.resolve("web/initial-password")).strip();
            awaitListening(port);
            assertEquals(1, count(a.errors(), "password " + password), "printed once: " + a.errors());
            assertEquals(401, get(port, null).statusCode());
            assertEquals(401, get(port, "admin:wrong").statusCode());
            HttpResponse<String> ok = get(port, "admin:" + password);
            assertEquals(200, ok.statusCode());
            assertTrue(ok.body().contains("ddmapper_device_size_bytes{device=\"demo\"} 67108864"), ok.body());
            Appliance.Exit stats = a.ddsetup("stats", "demo");
            assertEquals(0, stats.code(), stats.toString());
            assertTrue(stats.stdout().startsWith("demo\n  DEVICE "), stats.stdout());
            assertTrue(stats.stdout().contains(home.resolve("data/demo.img").toString()), stats.stdout());
            a.stop();
        }
        try (Appliance a = Appliance.builder().home(home).args("--http", "127.0.0.1:" + port).start()) {
            awaitListening(port);
            assertFalse(a.errors().contains("password"), "not printed again: " + a.errors());
            assertEquals(200, get(port, "admin:" + password).statusCode(), "the same password after a restart");
            a.stop();
        }
        try (Appliance a = Appliance.builder().home(home).args("--http", "none").start()) {
            assertThrows(java.net.ConnectException.class, () -> get(port, "admin:" + password), "--http none listens nowhere");
            a.stop();
        }
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) n++;
        return n;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** Jetty starts after the ready line may be printed: waits until the port answers. */
    private void awaitListening(int port) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                if (get(port, null).statusCode() == 401) return;
            } catch (java.io.IOException e) {
                if (System.nanoTime() > deadline) throw e;
            }
            if (System.nanoTime() > deadline) fail("/metrics is not served on port " + port);
            Thread.sleep(100);
        }
    }

    private HttpResponse<String> get(int port, String login) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(20));
        if (login != null) r.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(login.getBytes(StandardCharsets.UTF_8)));
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }
}
