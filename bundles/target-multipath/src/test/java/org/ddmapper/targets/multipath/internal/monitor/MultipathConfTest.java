package org.ddmapper.targets.multipath.internal.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class MultipathConfTest {

    @Test
    void readsDefaultsAndPerAliasSections() {
        MonitorConfig c = MultipathConf.parse("""
                # ddmapper path monitor
                defaults {
                    polling_interval 2
                    max_polling_interval 0.5   ! below polling_interval
                    path_checker "nbd"
                    checker_timeout 3
                    failback immediate
                    no_path_retry 4
                    san_path_err_threshold 2
                    san_path_err_forget_rate 10
                    san_path_err_recovery_time 30
                    user_friendly_names yes
                }
                blacklist {
                    devnode "^sd[a-z]"
                }
                multipaths {
                    multipath {
                        wwid 3600a0980
                        alias mpatha
                        failback followover
                        no_path_retry queue
                    }
                    multipath {
                        alias "mp b"
                        failback 15
                        no_path_retry fail
                        path_checker directio
                    }
                }
                """, "test.conf");
        assertEquals(2000, c.pollingIntervalMillis());
        assertEquals(2000, c.maxPollingIntervalMillis());
        assertEquals(List.of("max_polling_interval is below polling_interval; using polling_interval"), c.problems());
        MapPolicy d = c.defaults();
        assertEquals(new MapPolicy("nbd", 3000, new Failback.Immediate(), new NoPathRetry.Retry(4), 2, 10, 30_000), d);
        assertEquals(new MapPolicy("nbd", 3000, new Failback.Followover(), new NoPathRetry.Queue(), 2, 10, 30_000), c.policyFor("mpatha"));
        assertEquals(new MapPolicy("directio", 3000, new Failback.Deferred(15), new NoPathRetry.Fail(), 2, 10, 30_000), c.policyFor("mp b"));
        assertEquals(d, c.policyFor("other"));
    }

    @Test
    void problemsNameTheirLineAndTheRestStillApplies() {
        MonitorConfig c = MultipathConf.parse("""
                defaults {
                    polling_interval abc
                    failback sometimes
                    no_path_retry -1
                    checker_timeout 7
                    frobnicate 1
                }
                stray 1
                nosuch {
                }
                multipaths {
                    multipath {
                        failback immediate
                    }
                }
                """, "bad.conf");
        assertEquals(5000, c.pollingIntervalMillis());
        assertEquals(7000, c.defaults().checkerTimeoutMillis());
        assertEquals(new Failback.Manual(), c.defaults().failback());
        assertNull(c.defaults().noPathRetry());
        assertEquals(List.of(
                "line 2: invalid polling_interval 'abc' (expected seconds, 0.01..86400)",
                "line 3: invalid failback 'sometimes' (expected manual, immediate, followover or a number of seconds)",
                "line 4: invalid no_path_retry '-1' (expected fail, queue or a number of intervals)",
                "line 6: unknown option 'frobnicate' in defaults",
                "line 8: option 'stray' outside a section",
                "line 9: unknown section 'nosuch'",
                "line 12: multipath section without an alias is ignored"), c.problems());
    }

    @Test
    void theShippedDefaultFileHasNoProblems() throws Exception {
        java.nio.file.Path shipped = java.nio.file.Paths.get("../../etc/multipath.conf");
        MonitorConfig c = MultipathConf.parse(java.nio.file.Files.readString(shipped), shipped.toString());
        assertEquals(List.of(), c.problems());
        assertEquals(5000, c.pollingIntervalMillis());
        assertEquals(20_000, c.maxPollingIntervalMillis());
        assertEquals(MapPolicy.DEFAULTS, c.defaults());
    }

    @Test
    void brokenSyntaxFallsBackToDefaultsAndSaysWhy() {
        MonitorConfig c = MultipathConf.parse("defaults {\n path_checker \"tur\n}\n", "q.conf");
        assertEquals(List.of("line 2: unterminated quote; the whole file is ignored"), c.problems());
        assertEquals(MapPolicy.DEFAULTS, c.defaults());
        MonitorConfig open = MultipathConf.parse("defaults {\n failback immediate\n", "o.conf");
        assertTrue(open.problems().contains("section 'defaults' from line 1 is not closed"), open.problems().toString());
        assertEquals(new Failback.Immediate(), open.defaults().failback());
    }

    @Test
    void quotesDoubleToEscapeAndCommentsNeedNoSpace() {
        MonitorConfig c = MultipathConf.parse("multipaths {\n multipath {\n alias \"a\"\"b\"#c\n }\n}\n", "q.conf");
        assertTrue(c.byAlias().containsKey("a\"b"), c.byAlias().toString());
    }

    @Test
    void sectionsNestedTooDeepAreSkippedWithoutRecursing() {
        String deep = "x {\n".repeat(100_000) + "}\n".repeat(100_000);
        MonitorConfig c = MultipathConf.parse(deep + "defaults {\n failback immediate\n}\n", "deep.conf");
        assertTrue(c.problems().contains("line 9: section 'x' nested deeper than 8 is ignored"), c.problems().toString());
        assertEquals(new Failback.Immediate(), c.defaults().failback(), "the section after the deep one still applies");
    }
}
