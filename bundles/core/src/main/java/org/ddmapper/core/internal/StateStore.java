package org.ddmapper.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.DmException;
import org.ddmapper.api.TableLine;
import org.tinylog.Logger;

/**
 * The device set on disk: {@code HOME/state/devices.state}, a small text file rewritten whole
 * and atomically on every change (write {@code devices.state.new}, fsync it, rename it over the
 * old one, fsync the directory), so a crash leaves either the old or the new set. After each
 * save the same text is written to {@code devices.state.bak} (the same way): the last good copy.
 * When the main file cannot be read or is damaged, it is moved aside and {@link #load} falls back
 * to the copy, saying so in the log; a missing main file means no devices (an operator's reset),
 * whatever the copy holds.
 *
 * <pre>
 * ddmapper-state 1
 * next-id 7
 * device 3 vol0          &lt;- id and name
 * live                   &lt;- the live slot's lines follow (normalised table lines)
 * 0 2048 linear /srv/a.img 0
 * inactive               &lt;- optional: the inactive slot's lines
 * 0 4096 linear /srv/b.img 0
 * end
 * </pre>
 * Lines starting with '#' are comments. Table lines always start with a digit, so they never
 * clash with the keywords.
 */
final class StateStore {
    static final String FILE = "devices.state";
    static final String BACKUP = FILE + ".bak";
    private static final String MAGIC = "ddmapper-state 1";
    /**
     * Largest device id and next-id the file may hold: ids count up from 1, one per device ever
     * created, so this is never reached, and the room above it keeps the next id from wrapping round
     * onto a restored one (a hand-edited file with 2^63-1 did that: two devices, one id).
     */
    static final long MAX_ID = Long.MAX_VALUE / 2;

    /** One device as stored. */
    record DeviceRecord(long id, String name, List<TableLine> live, List<TableLine> inactive) { }

    /** The whole stored set. */
    record Snapshot(long nextId, List<DeviceRecord> devices) { }

    private final Path dir;

    StateStore(Path dir) {
        this.dir = dir;
    }

    Path file() { return dir.resolve(FILE); }

    Path backup() { return dir.resolve(BACKUP); }

    /**
     * Reads the stored set (empty when there is none). A damaged or unreadable file is moved
     * aside and reported; the last good copy is used instead when there is one.
     */
    Snapshot load() {
        Path file = file();
        String problem;
        try {
            return parse(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return new Snapshot(1, List.of());
        } catch (IOException e) {
            problem = "cannot be read (" + describe(e) + ")";
        } catch (DmException e) {
            problem = "is damaged (" + e.getMessage() + ")";
        }
        Path aside = dir.resolve(FILE + ".damaged-" + System.currentTimeMillis());
        try {
            Files.move(file, aside);
        } catch (IOException moveFailed) {
            aside = file;
        }
        Path backup = backup();
        try {
            Snapshot s = parse(Files.readAllLines(backup, StandardCharsets.UTF_8));
            Logger.error("device state {} {}; kept as {}; restoring the last good copy {} ({} devices)", file, problem, aside, backup,
                    s.devices().size());
            return s;
        } catch (NoSuchFileException e) {
            Logger.error("device state {} {}; starting without it, kept as {} (there is no {})", file, problem, aside, backup);
        } catch (IOException | DmException e) {
            String why = e instanceof IOException io ? describe(io) : e.getMessage();
            Logger.error("device state {} {}; kept as {}; the last good copy {} is unusable too ({}); starting without devices",
                    file, problem, aside, backup, why);
        }
        return new Snapshot(1, List.of());
    }

    static Snapshot parse(List<String> lines) {
        long nextId = 1;
        List<DeviceRecord> devices = new ArrayList<>();
        long id = -1;
        String name = null;
        List<TableLine> live = null;
        List<TableLine> inactive = null;
        List<TableLine> current = null;
        boolean magic = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = "line " + (i + 1) + ": ";
            if (!magic) {
                if (!line.equals(MAGIC)) throw new DmException(org.ddmapper.api.Errno.EINVAL, where + "expected '" + MAGIC + "'");
                magic = true;
            } else if (line.startsWith("next-id ")) {
                nextId = number(where, line.substring(8));
            } else if (line.startsWith("device ")) {
                if (name != null) throw bad(where, "device without end");
                String[] w = line.split(" ", 3);
                if (w.length != 3) throw bad(where, "expected 'device ID NAME'");
                id = number(where, w[1]);
                if (id == 0) throw bad(where, "device id 0 (ids start at 1)");
                name = w[2];
                live = null;
                inactive = null;
                current = null;
            } else if (line.equals("live") && name != null) {
                live = new ArrayList<>();
                current = live;
            } else if (line.equals("inactive") && name != null) {
                inactive = new ArrayList<>();
                current = inactive;
            } else if (line.equals("end") && name != null) {
                devices.add(new DeviceRecord(id, name, live, inactive));
                name = null;
                current = null;
            } else if (current != null) {
                try {
                    current.add(TableLine.parse(line));
                } catch (DmException e) {
                    throw bad(where, e.getMessage());
                }
            } else {
                throw bad(where, "unexpected '" + TableLine.escape(line.length() > 40 ? line.substring(0, 40) + "..." : line) + "'");
            }
        }
        if (name != null) throw bad("at end: ", "device '" + name + "' has no end");
        return new Snapshot(nextId, devices);
    }

    private static long number(String where, String word) {
        try {
            long v = Long.parseLong(word.strip());
            if (v < 0) throw bad(where, "negative number");
            if (v > MAX_ID) throw bad(where, "number " + v + " above " + MAX_ID);
            return v;
        } catch (NumberFormatException e) {
            throw bad(where, "invalid number '" + word + "'");
        }
    }

    private static DmException bad(String where, String what) {
        return new DmException(org.ddmapper.api.Errno.EINVAL, where + what);
    }

    static String format(Snapshot s) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ddmapper device state; rewritten by the core on every change\n");
        sb.append(MAGIC).append('\n');
        sb.append("next-id ").append(s.nextId()).append('\n');
        for (DeviceRecord d : s.devices()) {
            sb.append("device ").append(d.id()).append(' ').append(d.name()).append('\n');
            if (d.live() != null) {
                sb.append("live\n");
                for (TableLine l : d.live()) sb.append(l).append('\n');
            }
            if (d.inactive() != null) {
                sb.append("inactive\n");
                for (TableLine l : d.inactive()) sb.append(l).append('\n');
            }
            sb.append("end\n");
        }
        return sb.toString();
    }

    /** Writes the set atomically (see the top), then the last good copy the same way. */
    void save(Snapshot s) throws IOException {
        Files.createDirectories(dir);
        byte[] bytes = format(s).getBytes(StandardCharsets.UTF_8);
        replace(file(), bytes);
        try {
            replace(backup(), bytes);
        } catch (IOException e) {
            // the state itself is saved; the copy is one change behind, which load tolerates
            Logger.warn("cannot update the copy {} of the device state: {}", backup(), describe(e));
        }
    }

    /** Writes {@code target} atomically: a new file, fsync, rename over the old, fsync the directory. */
    private void replace(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".new");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems refuse to sync a directory; the rename is still atomic
        }
    }

    /** An I/O failure as a short phrase naming the file and why ("permission denied: /x/devices.state.new"). */
    static String describe(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException a) return "permission denied: " + a.getFile();
        if (e instanceof NoSuchFileException n) return "no such file or directory: " + n.getFile();
        if (e instanceof java.nio.file.FileSystemException f && f.getFile() != null)
            return (f.getReason() == null ? e.getClass().getSimpleName() : f.getReason().toLowerCase(java.util.Locale.ROOT)) + ": " + f.getFile();
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
