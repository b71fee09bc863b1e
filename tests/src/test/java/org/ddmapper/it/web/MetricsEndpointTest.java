package org.ddmapper.it.web;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} on Felix HTTP in a real framework: refused without the generated credentials,
 * which the first boot wrote hashed (mode 0600) and shown once; scraped while fio runs over NBD,
 * the text parses with the Prometheus client's own parser (Debian's python3-prometheus-client) and
 * the device's counters match what fio says it did.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MetricsEndpointTest {
    @TempDir Path dir;

    @Test
    void metricsNeedTheGeneratedPasswordAndCountWhatFioDid() throws Exception {
        String fio = Peers.require("fio");
        String python = Peers.require("python3");
        Path home = dir.resolve("home");
        try (WebFixture web = new WebFixture(home)) {
            Path users = home.resolve("web/users");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(users)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("web/initial-password"))));
            String password = web.initialPassword();
            assertTrue(password.length() >= 16, password);
            String usersText = Files.readString(users);
            assertTrue(usersText.contains("admin:pbkdf2-sha256$600000$"), usersText);
            assertFalse(usersText.contains(password), "the users file holds a hash, never the password");

            HttpResponse<String> none = web.get("metrics", null);
            assertEquals(401, none.statusCode());
            assertEquals("Basic realm=\"ddmapper\", charset=\"UTF-8\"", none.headers().firstValue("WWW-Authenticate").orElse(null));
            assertFalse(none.body().contains("ddmapper_device"), none.body());
            assertEquals(401, web.get("metrics", "admin:" + password + "x").statusCode(), "a wrong password");
            assertEquals(401, web.get("metrics", "root:" + password).statusCode(), "an unknown user");

            Path file = dir.resolve("m.img");
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(32 << 20);
            }
            web.dm.create("m", "0 " + (32 << 20) / 512 + " linear " + file + " 0");
            Process load = new ProcessBuilder(fio, "--ioengine=nbd", "--uri=nbd://" + web.nbdAddress + "/m", "--name=scrape", "--rw=randrw",
                    "--bs=4k", "--size=32m", "--io_size=24m", "--iodepth=4", "--rate_iops=4000", "--output-format=json")
                    .redirectErrorStream(false).redirectOutput(dir.resolve("fio.json").toFile()).redirectError(dir.resolve("fio.err").toFile())
                    .start();
            HttpResponse<String> during;
            try {
                Thread.sleep(300);
                during = web.get("metrics", "admin:" + password);
                assertTrue(load.waitFor(150, TimeUnit.SECONDS), "fio did not finish");
            } finally {
                if (load.isAlive()) Peers.kill(load);
            }
            assertEquals(0, load.exitValue(), Files.readString(dir.resolve("fio.err")));
            assertEquals(200, during.statusCode());
            assertEquals("text/plain; version=0.0.4; charset=utf-8", during.headers().firstValue("Content-Type").orElse(null));
            HttpResponse<String> after = web.get("metrics", "admin:" + password);
            assertEquals(200, after.statusCode());

            Map<String, Double> parsed = parse(python, after.body());
            String fioJson = Files.readString(dir.resolve("fio.json"));
            long fioReads = jsonLong(fioJson, "read", "total_ios"), fioReadBytes = jsonLong(fioJson, "read", "io_bytes");
            long fioWrites = jsonLong(fioJson, "write", "total_ios"), fioWrittenBytes = jsonLong(fioJson, "write", "io_bytes");
            assertTrue(fioReads > 1000 && fioWrites > 1000, fioJson);
            within1Percent(fioReads, parsed.get("ddmapper_device_reads_completed_total{device=m}"), "reads");
            within1Percent(fioReadBytes, parsed.get("ddmapper_device_read_bytes_total{device=m}"), "read bytes");
            within1Percent(fioWrites, parsed.get("ddmapper_device_writes_completed_total{device=m}"), "writes");
            within1Percent(fioWrittenBytes, parsed.get("ddmapper_device_written_bytes_total{device=m}"), "written bytes");
            within1Percent(fioWrittenBytes, parsed.get("ddmapper_underlying_written_bytes_total{device=m,underlying=" + file + "}"),
                    "written bytes on the file underneath");
            assertEquals(parsed.get("ddmapper_device_reads_completed_total{device=m}"),
                    parsed.get("ddmapper_device_io_duration_seconds_count{device=m,op=read}"), "the histogram counts every read");
            assertEquals(parsed.get("ddmapper_device_io_duration_seconds_count{device=m,op=read}"),
                    parsed.get("ddmapper_device_io_duration_seconds_bucket{device=m,le=+Inf,op=read}"));
            assertEquals(1.0, parsed.get("ddmapper_devices"), "the one device");
            assertEquals(0.0, parsed.get("ddmapper_device_suspended{device=m}"));
            Double mid = parse(python, during.body()).get("ddmapper_device_writes_completed_total{device=m}");
            assertNotNull(mid, "the scrape during the run shows the device");
            assertTrue(mid < parsed.get("ddmapper_device_writes_completed_total{device=m}"), "counters moved between the scrapes");
        }
    }

    private static void within1Percent(long expected, Double actual, String what) {
        assertNotNull(actual, what + " missing from /metrics");
        assertTrue(Math.abs(actual - expected) <= expected * 0.01, what + ": fio says " + expected + ", /metrics " + actual);
    }

    /** The samples as Prometheus' own parser reads them: NAME{k=v,...} (labels sorted) -> value. */
    static Map<String, Double> parse(String python, String text) throws Exception {
        Path in = Files.createTempFile("metrics-", ".txt");
        try {
            Files.writeString(in, text);
            String script = String.join("\n",
                    "import sys",
                    "from prometheus_client.parser import text_string_to_metric_families",
                    "for fam in text_string_to_metric_families(open(sys.argv[1]).read()):",
                    "    for s in fam.samples:",
                    "        labels = ','.join(k + '=' + v for k, v in sorted(s.labels.items()))",
                    "        print(s.name + ('{' + labels + '}' if labels else '') + '\\t' + repr(float(s.value)))");
            Peers.Result r = Peers.run(60, python.startsWith("/usr/bin") ? python : "/usr/bin/python3", "-c", script, in.toString());
            assertEquals(0, r.exit(), "the Prometheus parser refused the text: " + r.output() + "\n" + text);
            Map<String, Double> out = new HashMap<>();
            for (String line : r.output().split("\n")) {
                int tab = line.lastIndexOf('\t');
                if (tab > 0) out.put(line.substring(0, tab), Double.parseDouble(line.substring(tab + 1)));
            }
            return out;
        } finally {
            Files.deleteIfExists(in);
        }
    }

    /** A number of fio's JSON output: {@code "KEY" : N} inside the job's {@code "SECTION" : {}}. */
    static long jsonLong(String json, String section, String key) {
        int at = json.indexOf("\"" + section + "\" : {");
        assertTrue(at >= 0, "no " + section + " in fio's output: " + json);
        Matcher m = Pattern.compile("\"" + key + "\" : (\\d+)").matcher(json);
        assertTrue(m.find(at), "no " + key + " in fio's " + section);
        return Long.parseLong(m.group(1));
    }
}
