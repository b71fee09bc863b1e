package org.ddmapper.tools.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a device (or an image of one) against what a journal prefix promises: every block whose
 * write was acknowledged and made durable (flushed, or FUA) holds that write or a newer one of the
 * same run; every block holds zeros or a whole block of the run written to that index. Anything
 * else is a violation, named with the block and what was found.
 */
public final class VerifyCheck {

    /** Where the blocks are read from: an image file or a live device. */
    public interface BlockSource {
        /** The block at {@code index}, {@code blockBytes} long. */
        ByteBuffer read(long index, int blockBytes) throws IOException;
    }

    /** The outcome: blocks read, how many had a durable write to keep, and the violations. */
    public record Report(long blocks, long durableBlocks, List<String> violations) {
        public boolean ok() { return violations.isEmpty(); }

        @Override
        public String toString() {
            return blocks + " blocks checked, " + durableBlocks + " with an acknowledged and flushed write, " + violations.size()
                    + " violations";
        }
    }

    private VerifyCheck() {}

    public static Report check(Journal.State state, BlockSource source) throws IOException {
        List<String> violations = new ArrayList<>();
        for (long b = 0; b < state.blocks(); b++) {
            Long durable = state.durableSeqByBlock().get(b);
            String problem = problem(state, b, durable, VerifyBlock.decode(source.read(b, state.blockBytes())));
            if (problem != null) violations.add("block " + b + ": " + problem);
        }
        return new Report(state.blocks(), state.durableSeqByBlock().size(), violations);
    }

    private static String problem(Journal.State state, long index, Long durable, VerifyBlock.Content content) {
        if (content instanceof VerifyBlock.Content.Zero) return durable == null ? null : "zeros, but write " + durable + " was acknowledged and flushed";
        if (content instanceof VerifyBlock.Content.Damaged d) return d.why();
        VerifyBlock.Content.Written w = (VerifyBlock.Content.Written) content;
        if (w.run() != state.run()) return durable == null ? null : "a block of another run (" + w.run() + ")";
        if (w.block() != index) return "write " + w.seq() + " meant for block " + w.block();
        if (durable != null && w.seq() < durable) return "write " + w.seq() + ", older than write " + durable + " that was acknowledged and flushed";
        return null;
    }
}
