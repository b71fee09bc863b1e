package org.ddmapper.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EtcFilesTest {

    private final Path file = Path.of("/etc/ddmapper/multipath.conf");

    @Test
    void aProblemWithALineNumberBecomesFileColonLine() {
        assertEquals("/etc/ddmapper/multipath.conf:7: unknown option 'x' in defaults",
                EtcFiles.located(file, "line 7: unknown option 'x' in defaults"));
    }

    @Test
    void aProblemWithoutOneNamesTheFile() {
        assertEquals("/etc/ddmapper/multipath.conf: section 'defaults' from line 1 is not closed",
                EtcFiles.located(file, "section 'defaults' from line 1 is not closed"));
        assertEquals("/etc/ddmapper/multipath.conf: line x: odd", EtcFiles.located(file, "line x: odd"));
    }
}
