package org.ddmapper.web.internal;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Label values escaped as the exposition format wants. */
class MetricsTextTest {
    @Test
    void labelValuesEscapeBackslashQuoteAndNewline() {
        assertEquals("{device=\"a\\\\b\\\"c\\nd\",underlying=\"/x\"}", MetricsText.labels("device", "a\\b\"c\nd", "underlying", "/x"));
    }
}
