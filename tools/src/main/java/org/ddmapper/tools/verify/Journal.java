package org.ddmapper.tools.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The verifying writer's journal of what the device acknowledged, one line each, fsynced at every
 * point where something became durable (so whatever a crash leaves of it is true):
 * <pre>
 * run RUN BLOCKS BLOCK_BYTES   the run's id and geometry (first line)
 * W SEQ BLOCK                  write SEQ to BLOCK acknowledged (durable once a later F says so)
 * F SEQ                        a flush acknowledged: every write journaled before it is durable
 * U SEQ BLOCK                  a FUA write acknowledged: durable
 * </pre>
 * {@link #durable} reads the first N lines back into what must be on the device.
 */
public final class Journal implements AutoCloseable {
    private final FileChannel file;
    private int lines;

    /** The state the first lines of a journal promise: the run, its geometry, and per block the newest durable write. */
    public record State(long run, long blocks, int blockBytes, Map<Long, Long> durableSeqByBlock, int lines) {}

    private Journal(FileChannel file) {
        this.file = file;
    }

    /** Starts a journal for a run (the file must not exist). */
    public static Journal create(Path path, long run, long blocks, int blockBytes) throws IOException {
        Journal j = new Journal(FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        j.append("run " + run + " " + blocks + " " + blockBytes);
        j.sync();
        return j;
    }

    /** Appends a line (not yet durable). */
    public void append(String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) file.write(b);
        lines++;
    }

    /** Makes every line appended so far durable. */
    public void sync() throws IOException {
        file.force(false);
    }

    /** Lines appended so far. */
    public int lines() { return lines; }

    @Override
    public void close() throws IOException {
        file.close();
    }

    /** What the first {@code lineCount} lines promise (all lines when negative); a torn last line is ignored. */
    public static State durable(Path path, int lineCount) throws IOException {
        List<String> all = Files.readAllLines(path, StandardCharsets.US_ASCII);
        int n = lineCount < 0 ? all.size() : Math.min(lineCount, all.size());
        String[] head = all.isEmpty() ? new String[0] : all.get(0).split(" ");
        if (head.length != 4 || !head[0].equals("run")) throw new IOException(path + ": line 1 is not 'run RUN BLOCKS BLOCK_BYTES'");
        Map<Long, Long> durable = new HashMap<>();
        Map<Long, Long> acked = new HashMap<>();
        for (int i = 1; i < n; i++) {
            String[] w = all.get(i).split(" ");
            try {
                switch (w[0]) {
                    case "W" -> acked.put(Long.parseLong(w[2]), Long.parseLong(w[1]));
                    case "U" -> durable.merge(Long.parseLong(w[2]), Long.parseLong(w[1]), Math::max);
                    case "F" -> {
                        acked.forEach((block, seq) -> durable.merge(block, seq, Math::max));
                        acked.clear();
                    }
                    default -> throw new IOException(path + ": line " + (i + 1) + ": unknown record '" + all.get(i) + "'");
                }
            } catch (RuntimeException torn) {
                if (i == all.size() - 1) break; // the last line, cut by a crash while it was written
                throw new IOException(path + ": line " + (i + 1) + ": '" + all.get(i) + "' does not parse");
            }
        }
        return new State(Long.parseLong(head[1]), Long.parseLong(head[2]), Integer.parseInt(head[3]), Map.copyOf(durable), n);
    }
}
