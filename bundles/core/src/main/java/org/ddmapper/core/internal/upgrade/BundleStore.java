package org.ddmapper.core.internal.upgrade;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.ddmapper.api.StoredBundle;
import org.tinylog.Logger;

/**
 * The home's bundle store, {@code HOME/bundles/}: the jars live upgrades installed, so that the code
 * (the distribution's {@code bundle/}, the image) can stay read-only while what ddmapper writes lives
 * under its home.
 *
 * <pre>
 * HOME/bundles/history                               every change, oldest first ({@link StoreRecord})
 * HOME/bundles/boot.list                             what a boot tries, derived from the history
 * HOME/bundles/org.ddmapper.target.linear-0.1.1.jar  one jar per stored version
 * </pre>
 *
 * Per bundle the history replays to a stack of versions: {@code stored} puts a version on top (a
 * version stored again moves up), {@code reverted} drops it, {@code set-aside} marks it as one a boot
 * must not try again. {@code boot.list} has one line per version a boot may try, newest first:
 * {@code BUNDLE TAB VERSION TAB IMAGE-VERSION TAB JAR-FILE}; the launcher starts the first whose image version is
 * the version of the bundle in the image it boots (a store made over another image does not apply to
 * a new one), falls back down the list when one does not start, and starts the image's own jar last.
 * Both files are rewritten whole on every change (new file, fsync, rename), after the jar they name.
 */
public final class BundleStore {
    /** The store's folder under the home. */
    public static final String DIR = "bundles";
    static final String HISTORY = "history";
    static final String BOOT_LIST = "boot.list";

    private final Path dir;
    private final Clock clock;
    private final List<StoreRecord> history = new ArrayList<>();

    public BundleStore(Path dir, Clock clock) {
        this.dir = dir;
        this.clock = clock;
        load();
    }

    public Path dir() { return dir; }

    /** The file a stored version's jar has (whether or not it exists). */
    public Path jarFile(String bundle, String version) {
        return dir.resolve(bundle + "-" + version + ".jar");
    }

    /** Copies {@code jar} into the store as {@code bundle}'s current version and records it. */
    public synchronized void store(String bundle, String version, Path jar, String from, String image) throws IOException {
        Files.createDirectories(dir);
        BundleFiles.copyDurably(jar, jarFile(bundle, version));
        append(new StoreRecord.Stored(now(), bundle, version, from, image));
    }

    /** Drops {@code version} of {@code bundle} from the store and deletes its jar. */
    public synchronized void reverted(String bundle, String version) throws IOException {
        append(new StoreRecord.Reverted(now(), bundle, version));
        BundleFiles.deleteQuietly(jarFile(bundle, version));
    }

    /** Marks {@code version} of {@code bundle} as one a boot must not try again (its jar stays, for a look). */
    public synchronized void setAside(String bundle, String version, String reason) throws IOException {
        append(new StoreRecord.SetAside(now(), bundle, version, reason));
    }

    /** The bundles the store holds versions of, in name order. */
    public synchronized List<String> bundles() {
        return List.copyOf(stacks().keySet());
    }

    /**
     * What the store holds of {@code bundle}, newest first, seen from an image whose version of it is
     * {@code imageVersion}: the first version stored over that image and not set aside is CURRENT.
     */
    public synchronized List<StoredBundle.Version> versions(String bundle, String imageVersion) {
        List<StoredBundle.Version> out = new ArrayList<>();
        boolean current = true;
        for (Entry e : stacks().getOrDefault(bundle, List.of())) {
            StoredBundle.Status status;
            if (e.setAside != null) status = StoredBundle.Status.SET_ASIDE;
            else if (!e.stored.image().equals(imageVersion)) status = StoredBundle.Status.OTHER_IMAGE;
            else status = current ? StoredBundle.Status.CURRENT : StoredBundle.Status.PREVIOUS;
            if (status == StoredBundle.Status.CURRENT) current = false;
            Instant at = e.setAside != null ? e.setAside.at() : e.stored.at();
            out.add(new StoredBundle.Version(e.stored.version(), status, e.stored.from(), e.stored.image(), at.toString(),
                    e.setAside == null ? "" : e.setAside.reason()));
        }
        return out;
    }

    /** A stored version with its jar and why it is (or is no longer) tried; newest first per bundle. */
    private static final class Entry {
        final StoreRecord.Stored stored;
        StoreRecord.SetAside setAside;

        Entry(StoreRecord.Stored stored) { this.stored = stored; }
    }

    /** The history replayed: per bundle its stored versions, newest first. */
    private Map<String, List<Entry>> stacks() {
        Map<String, List<Entry>> stacks = new TreeMap<>();
        for (StoreRecord r : history) {
            List<Entry> stack = stacks.computeIfAbsent(r.bundle(), b -> new ArrayList<>());
            Entry existing = stack.stream().filter(e -> e.stored.version().equals(r.version())).findFirst().orElse(null);
            if (r instanceof StoreRecord.Stored s) {
                stack.remove(existing);
                stack.add(0, new Entry(s));
            } else if (r instanceof StoreRecord.Reverted) {
                stack.remove(existing);
            } else if (r instanceof StoreRecord.SetAside a && existing != null) {
                existing.setAside = a;
            }
        }
        stacks.values().removeIf(List::isEmpty);
        return stacks;
    }

    private void append(StoreRecord record) throws IOException {
        history.add(record);
        try {
            StringBuilder text = new StringBuilder("# ddmapper bundle store: every change, oldest first; rewritten whole by the core\n");
            for (StoreRecord r : history) text.append(r.line()).append('\n');
            StringBuilder boot = new StringBuilder("# what a boot tries, newest first: BUNDLE<TAB>VERSION<TAB>IMAGE-VERSION<TAB>JAR (derived from history)\n");
            stacks().forEach((bundle, stack) -> {
                for (Entry e : stack) {
                    if (e.setAside == null) boot.append(bundle).append('\t').append(e.stored.version()).append('\t').append(e.stored.image()).append('\t')
                            .append(jarFile(bundle, e.stored.version()).getFileName()).append('\n');
                }
            });
            Files.createDirectories(dir);
            BundleFiles.writeDurably(dir.resolve(HISTORY), text.toString().getBytes(StandardCharsets.UTF_8));
            BundleFiles.writeDurably(dir.resolve(BOOT_LIST), boot.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            history.remove(history.size() - 1);
            throw e;
        }
    }

    private void load() {
        Path file = dir.resolve(HISTORY);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            Logger.error("cannot read the bundle store's history {}: {}; the store is taken as empty", file, e.getMessage());
            return;
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) continue;
            try {
                history.add(StoreRecord.parse(line));
            } catch (IllegalArgumentException e) {
                Logger.warn("{}:{}: skipped: {}", file, i + 1, e.getMessage());
            }
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    /** For tests: the history as the store holds it now. */
    synchronized List<StoreRecord> history() {
        return List.copyOf(history);
    }

}
