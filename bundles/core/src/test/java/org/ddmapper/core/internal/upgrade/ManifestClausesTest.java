package org.ddmapper.core.internal.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestClausesTest {

    @Test
    void quotedRangesKeepTheirCommasAndDirectivesAreApart() {
        ManifestClauses c = ManifestClauses.parse("org.ddmapper.api;version=\"[1.0,2)\",org.a;org.b;resolution:=optional,"
                + "org.osgi.framework;version=\"[1.10,2)\"");
        assertEquals(3, c.clauses().size());
        assertEquals(List.of("org.ddmapper.api"), c.clauses().get(0).paths());
        assertEquals(Map.of("version", "[1.0,2)"), c.clauses().get(0).attributes());
        assertEquals(List.of("org.a", "org.b"), c.clauses().get(1).paths());
        assertEquals(Map.of("resolution", "optional"), c.clauses().get(1).directives());
        assertEquals(Map.of(), c.clauses().get(1).attributes());
        assertEquals("[1.10,2)", c.clauses().get(2).attributes().get("version"));
    }

    @Test
    void anAbsentOrBlankHeaderHasNoClauses() {
        assertEquals(List.of(), ManifestClauses.parse(null).clauses());
        assertEquals(List.of(), ManifestClauses.parse("  ").clauses());
    }
}
