package org.ddmapper.targets.multipath.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The exported check the launcher runs: the monitor's parser's problems, line by line, and none for a good file. */
class MultipathConfCheckTest {

    @Test
    void aGoodFileHasNoProblems() {
        assertEquals(List.of(), MultipathConfCheck.problems("defaults {\n  polling_interval 5\n  no_path_retry queue\n}\n", "multipath.conf"));
    }

    @Test
    void eachProblemNamesItsLineInFileOrder() {
        List<String> problems = MultipathConfCheck.problems(
                "defaults {\n  polling_intervall 5\n}\nmultipaths {\n  multipath {\n    alias a\n    no_path_retry sometimes\n  }\n}\n",
                "multipath.conf");
        assertEquals(2, problems.size(), problems.toString());
        assertEquals("line 2: unknown option 'polling_intervall' in defaults", problems.get(0));
        assertEquals(true, problems.get(1).startsWith("line 7: "), problems.get(1));
    }
}
