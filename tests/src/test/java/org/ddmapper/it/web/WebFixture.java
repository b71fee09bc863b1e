package org.ddmapper.it.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.Endpoint;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;
import org.osgi.framework.ServiceReference;

/**
 * An embedded framework with the web bundles as well (Felix HTTP on Jetty, its servlet API and
 * wrappers, slf4j, ours), HTTP on loopback at a free port, the NBD server at a free port: the
 * address of each, and an HTTP client that logs in or not.
 */
final class WebFixture implements AutoCloseable {
    final EmbeddedFramework fw;
    final DeviceManager dm;
    final String nbdAddress;
    final URI base;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    WebFixture(Path home) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        EmbeddedFramework.Builder b = EmbeddedFramework.builder().home(home)
                .property("org.osgi.service.http.port", "0").property("org.apache.felix.http.host", "127.0.0.1");
        for (Path jar : webBundles()) b.withBundle(jar);
        fw = b.start();
        try {
            assertEquals(java.util.Map.of(), fw.startFailures(), "every bundle starts");
            dm = fw.service(DeviceManager.class);
            Endpoint tcp = fw.service(Endpoint.class, "(kind=nbd)", 15_000);
            nbdAddress = tcp.address();
            Waits.awaitTypes(dm, "linear");
            base = URI.create(httpEndpoint());
            awaitServlet();
        } catch (Exception | AssertionError e) {
            fw.close();
            throw e;
        }
    }

    /** The web bundles in the order they install: APIs first, Jetty, then ours. */
    static List<Path> webBundles() throws IOException {
        Path dir = Path.of(System.getProperty("ddmapper.it.webBundles", "target/web-bundles"));
        List<String> order = List.of("org.apache.felix.http.servlet-api", "org.apache.felix.http.wrappers", "slf4j-api", "slf4j-simple",
                "org.apache.felix.http.jetty", "web-");
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> jars = s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
            assertEquals(order.size(), jars.size(), "web bundles in " + dir + ": " + jars);
            return order.stream().map(o -> jars.stream().filter(j -> j.getFileName().toString().startsWith(o)).findFirst().orElseThrow(
                    () -> new AssertionError("no " + o + " in " + jars))).toList();
        }
    }

    /** The HTTP runtime's endpoint (the real port when 0 was asked). */
    private String httpEndpoint() throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < deadline) {
            ServiceReference<?>[] refs = fw.context().getAllServiceReferences("org.osgi.service.servlet.runtime.HttpServiceRuntime", null);
            if (refs != null && refs.length > 0) {
                Object ep = refs[0].getProperty("osgi.http.endpoint");
                String first = ep instanceof String[] a ? a[0] : ep instanceof java.util.Collection<?> c ? String.valueOf(c.iterator().next())
                        : String.valueOf(ep);
                if (ep != null && !first.matches(".*:0/?$")) return first.endsWith("/") ? first : first + "/";
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no HTTP runtime endpoint within 15 s");
    }

    /** Waits until /metrics is registered (answers 401, not 404). */
    private void awaitServlet() throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        int last = 0;
        while (System.nanoTime() < deadline) {
            last = get("metrics", null).statusCode();
            if (last == 401) return;
            Thread.sleep(50);
        }
        throw new AssertionError("/metrics answers " + last + ", not 401, after 15 s");
    }

    /** The generated password, as the first boot left it in the home. */
    String initialPassword() throws IOException {
        return Files.readString(fw.home().resolve("web/initial-password")).strip();
    }

    HttpResponse<String> get(String path, String userColonPassword) throws IOException, InterruptedException {
        HttpRequest.Builder r = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20)).GET();
        if (userColonPassword != null)
            r.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8)));
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() { fw.close(); }
}
