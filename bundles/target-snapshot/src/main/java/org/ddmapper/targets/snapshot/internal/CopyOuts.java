package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.spi.Copier;

/**
 * Starts the copies of new pending exceptions through the shared {@link Copier}, with as few
 * reads of the origin as the layout allows: the pendings of one snapshot whose origin and COW
 * chunks both follow each other are copied as one run (first writes in a row make such runs), and
 * runs of several snapshots over the same origin sectors are read once and written to every COW
 * (an origin with four snapshots reads a first write's chunks once, not four times). A chunk at
 * the end of the origin is copied only as far as the origin goes, as the kernel's start_copy.
 */
final class CopyOuts {
    private CopyOuts() {}

    /** A snapshot's consecutive pendings. */
    private record Run(Snapshot snapshot, List<Pending> pendings, long originSector, long cowSector, long lengthSectors) {}

    private record Source(long originSector, long lengthSectors) {}

    static void start(List<Pending> toStart) {
        if (toStart.isEmpty()) return;
        Map<Source, List<Run>> bySource = new LinkedHashMap<>();
        for (Run run : runs(toStart)) bySource.computeIfAbsent(new Source(run.originSector, run.lengthSectors), s -> new ArrayList<>()).add(run);
        for (var entry : bySource.entrySet()) copy(entry.getKey(), entry.getValue());
    }

    private static List<Run> runs(List<Pending> toStart) {
        Map<Snapshot, List<Pending>> bySnapshot = new LinkedHashMap<>();
        for (Pending pe : toStart) bySnapshot.computeIfAbsent(pe.snapshot, s -> new ArrayList<>()).add(pe);
        List<Run> runs = new ArrayList<>();
        for (List<Pending> ofOne : bySnapshot.values()) {
            ofOne.sort(Comparator.comparingLong(p -> p.oldChunk));
            List<Pending> current = new ArrayList<>();
            for (Pending pe : ofOne) {
                Pending last = current.isEmpty() ? null : current.get(current.size() - 1);
                if (last != null && (last.oldChunk + 1 != pe.oldChunk || last.newChunk + 1 != pe.newChunk)) {
                    runs.add(run(current));
                    current = new ArrayList<>();
                }
                current.add(pe);
            }
            runs.add(run(current));
        }
        return runs;
    }

    private static Run run(List<Pending> pendings) {
        Pending first = pendings.get(0);
        Snapshot s = first.snapshot;
        int shift = s.chunkShift;
        long originSector = first.oldChunk << shift;
        long length = Math.min((long) pendings.size() << shift, s.args.origin().sizeSectors() - originSector);
        return new Run(s, pendings, originSector, first.newChunk << shift, Math.max(0, length));
    }

    private static void copy(Source source, List<Run> runs) {
        List<Copier.Place> to = new ArrayList<>(runs.size());
        for (Run r : runs) to.add(new Copier.Place(r.snapshot.args.cow(), r.cowSector));
        Snapshot first = runs.get(0).snapshot;
        first.context.copier().copy(new Copier.Place(first.args.origin(), source.originSector), to, source.lengthSectors, 0, outcome -> {
            for (int i = 0; i < runs.size(); i++) {
                boolean ok = outcome.read().isOk() && outcome.writes().get(i).isOk();
                for (Pending pe : runs.get(i).pendings) pe.snapshot.copied(pe, ok);
            }
        });
    }
}
