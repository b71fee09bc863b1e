package org.ddmapper.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.ddmapper.api.Extent.Kind;
import org.junit.jupiter.api.Test;

class ExtentListTest {

    @Test
    void adjacentRunsOfOneKindMergeAndTheLastIsClippedAtTheRangeEnd() {
        ExtentList l = new ExtentList(100, 50);
        assertTrue(l.add(10, Kind.DATA));
        assertTrue(l.add(5, Kind.DATA));
        assertTrue(l.add(20, Kind.HOLE));
        assertFalse(l.add(40, Kind.DATA), "the range is covered");
        assertFalse(l.add(1, Kind.HOLE), "nothing more fits");
        assertEquals(List.of(new Extent(100, 15, Kind.DATA), new Extent(115, 20, Kind.HOLE), new Extent(135, 15, Kind.DATA)),
                l.toList());
        assertEquals(150, l.endSector());
    }

    @Test
    void addAllTakesLengthsAndKindsFromAnotherDevicesAnswer() {
        ExtentList l = new ExtentList(8, 100);
        // what a device below answered at its own offset (sector 1000 there is sector 8 here)
        assertTrue(l.addAll(List.of(new Extent(1000, 4, Kind.HOLE), new Extent(1004, 4, Kind.DATA))));
        assertTrue(l.addAll(List.of(new Extent(0, 2, Kind.DATA))));
        assertFalse(l.addAll(List.of()), "an empty answer makes no progress");
        assertEquals(List.of(new Extent(8, 4, Kind.HOLE), new Extent(12, 6, Kind.DATA)), l.toList());
    }

    @Test
    void stopsAtMaxRunsSoAnswerMayEndShortOfTheRange() {
        ExtentList l = new ExtentList(0, 10_000);
        int added = 0;
        while (l.add(1, added % 2 == 0 ? Kind.DATA : Kind.HOLE)) added++;
        List<Extent> runs = l.toList();
        assertEquals(ExtentList.MAX_RUNS, runs.size());
        assertEquals(ExtentList.MAX_RUNS, l.endSector(), "the answer stops after the last run that fitted");
        assertFalse(l.add(1, runs.get(runs.size() - 1).kind()), "a full answer takes nothing more, not even a run that would merge");
        assertEquals(ExtentList.MAX_RUNS, l.endSector());
    }

    @Test
    void emptyAnswersAndBadRangesAreRefused() {
        assertThrows(IllegalStateException.class, () -> new ExtentList(0, 1).toList());
        assertThrows(IllegalArgumentException.class, () -> new ExtentList(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new ExtentList(Long.MAX_VALUE, 2));
        assertThrows(IllegalArgumentException.class, () -> new Extent(0, 0, Kind.DATA));
    }
}
